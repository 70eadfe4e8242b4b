import NullSink

NullSinkCommand.main()

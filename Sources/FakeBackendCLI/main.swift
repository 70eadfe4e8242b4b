import FakeBackend

FakeBackendCommand.main()

import LoadGen

LoadGenCommand.main()

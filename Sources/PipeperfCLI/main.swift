import Orchestrator

PipeperfCommand.main()

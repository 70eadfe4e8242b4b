import PipeperfBase
import AdminHTTP
import NullSink

HealthCheck.runIfAsked(defaultAdmin: "127.0.0.1:8081")
NullSinkCommand.main()

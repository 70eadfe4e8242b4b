import PipeperfBase
import AdminHTTP
import FakeBackend

HealthCheck.runIfAsked(defaultAdmin: "127.0.0.1:8081")
FakeBackendCommand.main()

import PipeperfBase
import AdminHTTP
import LoadGen

HealthCheck.runIfAsked(defaultAdmin: "127.0.0.1:8080")
LoadGenCommand.main()

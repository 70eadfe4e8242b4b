// Replies held for an injected latency: a per-thread min-heap on the due time, fired by the loop.

import PipeperfBase
import H2Transport
import OTLPWire
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A reply waiting for its injected delay.
struct DelayedReply {
    var due: UInt64
    var connection: GRPCServerConnection
    var stream: Int32
    var reply: ExportReply
}

extension GRPCWorker {

    func hold(_ d: DelayedReply) {
        delayed.append(d)
        var i = delayed.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if delayed[parent].due <= delayed[i].due { break }
            delayed.swapAt(parent, i)
            i = parent
        }
    }

    func fireDelayed(now: UInt64) {
        while let first = delayed.first, first.due <= now {
            let last = delayed.removeLast()
            if !delayed.isEmpty {
                delayed[0] = last
                var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1
                    var m = i
                    if l < delayed.count && delayed[l].due < delayed[m].due { m = l }
                    if r < delayed.count && delayed[r].due < delayed[m].due { m = r }
                    if m == i { break }
                    delayed.swapAt(i, m)
                    i = m
                }
            }
            if !first.connection.isClosed {
                first.connection.send(first.reply, stream: first.stream)
                first.connection.flush()
            }
        }
    }
}

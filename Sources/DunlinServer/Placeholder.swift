// The NIO server runtime: see Server.swift.

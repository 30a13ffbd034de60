// The NIO client runtime.

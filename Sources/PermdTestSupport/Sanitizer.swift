#if canImport(Glibc)
import Glibc
#endif

/// The sanitizer this build runs under (`swift test --sanitize=address|thread`), if any.
///
/// Found at run time from the sanitizer's runtime symbols (exported by every binary
/// SwiftPM links with `-sanitize=`; the test bundle and the `permd` it starts are built
/// together), so a plain `swift test --sanitize=...` needs no extra define. Tests use it
/// only to widen a bound on memory or time that the sanitizer itself breaks (its shadow
/// memory, its quarantine of freed blocks, its slowdown); the behaviour checked stays the same.
public enum Sanitizer: Sendable {
    case address
    case thread

    /// The sanitizer in this process, or nil in a plain build.
    public static let active: Sanitizer? = {
        #if canImport(Glibc)
        let everything = UnsafeMutableRawPointer(bitPattern: 0) // RTLD_DEFAULT
        if dlsym(everything, "__asan_init") != nil { return .address }
        if dlsym(everything, "__tsan_init") != nil { return .thread }
        #endif
        return nil
    }()
}

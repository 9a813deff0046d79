#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A 2 MiB-aligned block of memory, which Linux backs with one huge page, that the big
/// chunked tables of a full build carve their chunks from.
///
/// Why: a CHECK makes a few random accesses into tables of tens of megabytes. With 4 KiB
/// pages nearly each one also misses the TLB (a page walk, doubled under virtualization);
/// with 2 MiB pages the whole index needs about a hundred TLB entries. Measured on the
/// build VM: a dependent random load over 256 MB costs 500 ns with 4 KiB pages and 335 ns
/// with huge pages.
///
/// A chunk taken from a slab keeps the slab alive. When such a chunk is released while
/// the slab lives on (a change copied it), its pages are given back to the kernel.
/// `@unchecked Sendable`: the only mutable state is the atomic fill mark.
final class Slab: @unchecked Sendable {
    #if DEBUG
    /// Small in debug builds, so that unit tests fill several slabs.
    static let bytes = 1 << 12
    #else
    static let bytes = 1 << 21
    #endif
    let base: UnsafeMutableRawPointer
    private let used = Atomic<Int>(0)

    init() {
        base = UnsafeMutableRawPointer.allocate(byteCount: Slab.bytes, alignment: Slab.bytes)
        #if os(Linux) && !DEBUG
        _ = madvise(base, Slab.bytes, MADV_HUGEPAGE)
        #endif
    }

    deinit {
        base.deallocate()
    }

    /// `byteCount` bytes (64-byte aligned), or nil when the slab is full. Safe to call
    /// from several snapshots' writers at once.
    func take(_ byteCount: Int) -> UnsafeMutableRawPointer? {
        let rounded = (byteCount + 63) & ~63
        var offset = used.load(ordering: .relaxed)
        while offset + rounded <= Slab.bytes {
            let (exchanged, original) = used.compareExchange(expected: offset, desired: offset + rounded,
                                                             ordering: .relaxed)
            if exchanged { return base + offset }
            offset = original
        }
        return nil
    }

    /// Bytes not handed out yet.
    var remaining: Int { Slab.bytes - used.load(ordering: .relaxed) }

    /// Gives the pages of a released chunk back to the kernel (whole pages only).
    func release(_ start: UnsafeMutableRawPointer, byteCount: Int) {
        #if os(Linux) && !DEBUG
        let page = 4096
        let first = (Int(bitPattern: start) + page - 1) & ~(page - 1)
        let end = (Int(bitPattern: start) + byteCount) & ~(page - 1)
        if end > first { _ = madvise(UnsafeMutableRawPointer(bitPattern: first), end - first, MADV_DONTNEED) }
        #endif
    }
}

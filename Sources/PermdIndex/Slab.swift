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
///
/// Slabs are mapped from the kernel, not allocated: `MADV_HUGEPAGE` gets huge pages only
/// for memory not touched yet, and an aligned `malloc` may hand out memory the process
/// freed before (the strings of a build, a temporary array), already backed by 4 KiB pages.
/// glibc carves 2 MiB requests from its heap as soon as one mapped block of more than that
/// has been freed (which raises its mapping threshold) — after the first snapshot released,
/// for one. Measured: the second 1M-user build in one process got 192 of its 229 MB in huge
/// pages, and a test program whose freed heap memory served four slabs got none.
final class Slab: @unchecked Sendable {
    #if DEBUG
    /// Small in debug builds, so that unit tests fill several slabs.
    static let bytes = 1 << 12
    #else
    static let bytes = 1 << 21
    #endif
    let base: UnsafeMutableRawPointer
    private let used = Atomic<Int>(0)

    /// A fresh slab: twice its size mapped, then all but the aligned middle unmapped, and
    /// marked for huge pages before anything touches it.
    init() {
        let mapped = mmap(nil, 2 * Slab.bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        guard let mapped, mapped != MAP_FAILED else { fatalError("out of memory: mapping a \(Slab.bytes)-byte slab failed") }
        let start = (Int(bitPattern: mapped) + Slab.bytes - 1) & ~(Slab.bytes - 1)
        let head = start - Int(bitPattern: mapped)
        if head > 0 { munmap(mapped, head) }
        munmap(mapped + head + Slab.bytes, Slab.bytes - head)
        base = UnsafeMutableRawPointer(bitPattern: start)!
        #if os(Linux) && !DEBUG
        _ = madvise(base, Slab.bytes, MADV_HUGEPAGE)
        #endif
    }

    deinit {
        munmap(base, Slab.bytes)
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

public import Foundation

/// The bytes of the file at `url`, as `Data(contentsOf:)` reads them.
///
/// An empty file is not handed to Foundation: on Linux, `Data(contentsOf:)` and
/// `FileManager.contents(atPath:)` of an empty file leak a 4 KiB read buffer
/// (swift-foundation's readDataFromFile), which LeakSanitizer reports under `make sanitize`;
/// the tests read many empty outputs.
public func fileContents(_ url: URL) throws -> Data {
    let size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber
    return size?.intValue == 0 ? Data() : try Data(contentsOf: url)
}

import Foundation

/// Writes one line to standard error (progress, mismatches, problems), keeping standard
/// output for the summary.
func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

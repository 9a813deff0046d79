/// The rules of SPEC §1 for identifiers: user ids and org codes are 1–255 bytes of
/// printable ASCII without spaces; role and permission keys are at most 128 bytes of
/// `A-Z a-z 0-9 _ - . : /`, which leaves `*` free for wildcards. A new user's id is not one of
/// the `WHO` markers; an organization code or external id holds no comma.
public enum Identifier {
    /// The longest user id or organization code, in bytes.
    public static let maxIDLength = 255
    /// The longest role or permission key, in bytes.
    public static let maxKeyLength = 128

    /// Whether `byte` may appear in a user id or organization code (0x21–0x7E).
    @inlinable
    public static func isIDByte(_ byte: UInt8) -> Bool {
        byte >= 0x21 && byte <= 0x7E
    }

    /// Whether `byte` may appear in a role or permission key.
    @inlinable
    public static func isKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "/"):
            true
        default:
            false
        }
    }

    /// Whether `bytes` is a valid user id or organization code.
    @inlinable
    public static func isValidID<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        !bytes.isEmpty && bytes.count <= maxIDLength && bytes.allSatisfy(isIDByte)
    }

    /// Whether `bytes` is a valid role or permission key.
    @inlinable
    public static func isValidKey<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Bool {
        !bytes.isEmpty && bytes.count <= maxKeyLength && bytes.allSatisfy(isKeyByte)
    }

    /// Whether `text` is a valid user id or organization code.
    public static func isValidID(_ text: String) -> Bool { isValidID(text.utf8) }

    /// Whether `text` is a valid role or permission key.
    public static func isValidKey(_ text: String) -> Bool { isValidKey(text.utf8) }

    /// Why `text` is not a valid user id or organization code, or nil when it is.
    public static func problemWithID(_ text: String) -> String? {
        if text.utf8.isEmpty { return "is empty" }
        if text.utf8.count > maxIDLength { return "is longer than \(maxIDLength) bytes" }
        if !text.utf8.allSatisfy(isIDByte) { return "holds a space or a byte outside printable ASCII" }
        return nil
    }

    /// Why `text` is not a valid role or permission key, or nil when it is.
    public static func problemWithKey(_ text: String) -> String? {
        if text.utf8.isEmpty { return "is empty" }
        if text.utf8.count > maxKeyLength { return "is longer than \(maxKeyLength) bytes" }
        if !text.utf8.allSatisfy(isKeyByte) { return "may hold only A-Z a-z 0-9 _ - . : /" }
        return nil
    }

    /// The user ids no user may be given: `WHO` answers with them as markers (`-` for the
    /// start of the list, `MORE` at its end), so a user called so would make its answer ambiguous.
    public static let reservedUserIDs: Set<String> = ["-", "MORE"]

    /// Why `text` cannot be the id of a new user (the identifier rules and the reserved ids),
    /// or nil when it can.
    public static func problemWithUserID(_ text: String) -> String? {
        if let problem = problemWithID(text) { return problem }
        if reservedUserIDs.contains(text) { return "is reserved (WHO uses it as a marker)" }
        return nil
    }

    /// Why `text` cannot be the code of a new organization, or nil when it can: imports list
    /// organizations comma-separated, so a code with a comma could never be named there.
    public static func problemWithOrganizationCode(_ text: String) -> String? {
        problemWithID(text) ?? problemWithExternalID(text)
    }

    /// Why `text` cannot be an organization's external id, or nil when it can: like a code,
    /// it is named in comma-separated lists.
    public static func problemWithExternalID(_ text: String) -> String? {
        text.utf8.contains(UInt8(ascii: ",")) ? "holds a comma (imports list organizations comma-separated)" : nil
    }
}

/// The rules of SPEC §1 for profile values: a blank value is no value, and an email has one
/// form. Every path that takes a profile (writes, the CLI, sign-in, import) applies these, so
/// that a value one path accepts is never refused by another.
public enum ProfileValue {
    /// Whether `text` is blank: empty, or only Unicode white space. A blank value is no value:
    /// never stored, never matched, and given in a write it changes nothing (an unset shell
    /// variable in `--email "$EMAIL"` must not become a login key shared by every such user).
    public static func isBlank(_ text: String) -> Bool {
        text.unicodeScalars.allSatisfy(\.properties.isWhitespace)
    }

    /// `text`, or nil when it is nil or blank.
    public static func nonBlank(_ text: String?) -> String? {
        guard let text, !isBlank(text) else { return nil }
        return text
    }

    /// Every Unicode scalar `isBlank` treats as white space, in one string: for the rules
    /// that must agree with it outside Swift (the schema migration that clears blank values).
    public static let whitespaceScalars: String = {
        var scalars = String.UnicodeScalarView()
        for value in UInt32(0)...0x3000 {
            if let scalar = Unicode.Scalar(value), scalar.properties.isWhitespace { scalars.append(scalar) }
        }
        return String(scalars)
    }()
}

/// The one email rule (SPEC §1): `local@domain` with a dot in the domain and no spaces.
public enum EmailAddress {
    /// Why `email` is not a plausible address (`local@domain.tld`), or nil when it is.
    public static func problem(_ email: String) -> String? {
        var at: String.UTF8View.Index?
        for index in email.utf8.indices {
            let byte = email.utf8[index]
            if byte <= 0x20 || byte == 0x7F { return "holds a space or a control character" }
            if byte == UInt8(ascii: "@") {
                if at != nil { return "needs exactly one @" }
                at = index
            }
        }
        guard let at else { return "needs exactly one @" }
        if at == email.utf8.startIndex { return "nothing before the @" }
        // The domain: labels separated by single dots, at least two of them.
        var labels = 0
        var labelLength = 0
        for byte in email.utf8[email.utf8.index(after: at)...] {
            if byte == UInt8(ascii: ".") {
                if labelLength == 0 { break }
                labels += 1
                labelLength = 0
            } else {
                labelLength += 1
            }
        }
        guard labelLength > 0, labels >= 1 else { return "the domain after the @ must be like example.com" }
        return nil
    }
}

extension UserProfile {
    /// This profile with every blank field made nil (no value).
    public func withoutBlanks() -> UserProfile {
        UserProfile(email: ProfileValue.nonBlank(email), username: ProfileValue.nonBlank(username),
                    phone: ProfileValue.nonBlank(phone), firstName: ProfileValue.nonBlank(firstName),
                    lastName: ProfileValue.nonBlank(lastName), picture: ProfileValue.nonBlank(picture))
    }
}

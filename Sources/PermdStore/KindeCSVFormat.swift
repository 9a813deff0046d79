import PermdCore

/// Kinde's user import CSV (SPEC §4): a header row, then one row per user and organization.
public enum KindeCSVFormat {
    /// The `role_key` value that stands for "no roles" (an explicit empty list), so that an
    /// exported membership without roles does not get the default roles when imported again.
    /// Role keys cannot hold parentheses, so it never names a role.
    public static let noRoles = "(none)"

    /// A column's meaning.
    enum Column: Hashable {
        case id, email, emailVerified, phone, phoneVerified, username, firstName, lastName, picture
        case organizations, roles, permissions
        /// A password column: accepted and ignored (permd does not authenticate).
        case password
    }

    /// Header names (lowercase) and what they mean; the aliases come from Kinde's templates.
    static let columnNames: [String: Column] = [
        "id": .id, "provided_id": .id,
        "email": .email, "email_verified": .emailVerified,
        "phone": .phone, "phone_verified": .phoneVerified,
        "username": .username, "first_name": .firstName, "last_name": .lastName, "picture": .picture,
        "external_organization_id": .organizations,
        "role_key": .roles, "roles": .roles,
        "permission_key": .permissions, "permissions": .permissions,
        "hashed_password": .password, "hashing_method": .password, "salt": .password,
        "salt_position": .password, "salt_format": .password,
    ]

    /// The columns export writes, in order (a header `permd import` reads back).
    static let exportHeader = [
        "id", "email", "email_verified", "phone", "phone_verified", "username", "first_name", "last_name",
        "picture", "external_organization_id", "role_key", "permission_key",
    ]

    /// Parses a Kinde CSV file. Every malformed row is reported with its line; rows that
    /// parse become records (one membership per listed organization).
    public static func parse(_ bytes: [UInt8], file: String, progress: ImportProgress? = nil) -> ImportedRows {
        var rows = ImportedRows()
        func error(_ line: Int, _ message: String) {
            rows.diagnostics.append(Diagnostic(file: file, line: line, severity: .error, message: message))
        }
        var reader = CSVReader(bytes: bytes)
        let columns: [Column]
        do {
            guard try reader.nextRecord() else {
                error(1, "the file is empty (expected a header row such as \"id,email,external_organization_id,role_key\")")
                return rows
            }
            guard let header = readHeader(reader, file: file, diagnostics: &rows.diagnostics) else { return rows }
            columns = header
        } catch {
            rows.diagnostics.append(Diagnostic(file: file, line: error.line, severity: .error, message: error.message))
            return rows
        }
        reader.expectedFieldCount = columns.count
        var rowCount = 0
        while true {
            do {
                guard try reader.nextRecord() else { break }
            } catch {
                rowCount += 1
                rows.diagnostics.append(Diagnostic(file: file, line: error.line, severity: .error, message: error.message))
                continue
            }
            rowCount += 1
            if let record = readRow(reader, columns: columns, file: file, diagnostics: &rows.diagnostics) {
                rows.records.append(record)
            }
            if let progress, rowCount % importProgressInterval == 0 {
                progress(rowCount, reader.bytesRead, reader.totalBytes)
            }
        }
        if rowCount == 0 {
            error(1, "no rows after the header: nothing to import")
        }
        return rows
    }

    /// The columns of the header row; nil (with errors) when a name is unknown or repeated.
    private static func readHeader(_ reader: CSVReader, file: String, diagnostics: inout [Diagnostic]) -> [Column]? {
        var columns: [Column] = []
        var unknown: [String] = []
        var seen: [Column: String] = [:]
        var passwordColumns: [String] = []
        var ok = true
        for index in 0..<reader.fieldCount {
            let name = (reader.string(at: index) ?? "").trimmingSpaces().lowercased()
            guard let column = columnNames[name] else {
                unknown.append(name)
                continue
            }
            if column == .password {
                passwordColumns.append(name)
            } else if let earlier = seen[column] {
                ok = false
                diagnostics.append(Diagnostic(
                    file: file, line: reader.line, severity: .error,
                    message: "columns \"\(earlier)\" and \"\(name)\" name the same field; keep one"))
            }
            seen[column] = name
            columns.append(column)
        }
        if !unknown.isEmpty {
            let names = unknown.map { "\"\($0)\"" }.joined(separator: ", ")
            let known = columnNames.keys.sorted().joined(separator: ", ")
            diagnostics.append(Diagnostic(
                file: file, line: reader.line, severity: .error,
                message: "unknown column\(unknown.count == 1 ? "" : "s") \(names) (known columns: \(known))"))
            return nil
        }
        if !passwordColumns.isEmpty {
            diagnostics.append(Diagnostic(
                file: file, line: reader.line, severity: .notice,
                message: "password columns ignored (permd does not store password hashes): "
                    + passwordColumns.joined(separator: ", ")))
        }
        return ok ? columns : nil
    }

    /// One data row as a record; nil (with errors) when a field is malformed.
    private static func readRow(
        _ reader: CSVReader, columns: [Column], file: String, diagnostics: inout [Diagnostic]
    ) -> UserRecord? {
        var record = UserRecord(id: nil, line: reader.line)
        var organizations: [String] = []
        var roles: [String]?
        var permissions: [String] = []
        var ok = true
        func error(_ message: String) {
            ok = false
            diagnostics.append(Diagnostic(file: file, line: reader.line, severity: .error, message: message))
        }
        for (index, column) in columns.enumerated() where column != .password && !reader.isEmpty(at: index) {
            guard let value = reader.string(at: index) else {
                error("field \(index + 1) is not valid UTF-8")
                continue
            }
            switch column {
            case .id: record.id = value
            case .email: record.profile.email = value
            case .phone: record.profile.phone = value
            case .username: record.profile.username = value
            case .firstName: record.profile.firstName = value
            case .lastName: record.profile.lastName = value
            case .picture: record.profile.picture = value
            case .emailVerified, .phoneVerified:
                guard let flag = parseBool(value) else {
                    error("\(column == .emailVerified ? "email_verified" : "phone_verified") must be true or false, not \"\(value)\"")
                    continue
                }
                if column == .emailVerified { record.emailVerified = flag } else { record.phoneVerified = flag }
            case .organizations: organizations = splitList(value)
            case .roles:
                let keys = splitList(value)
                if keys == [noRoles] {
                    roles = []
                } else if keys.contains(noRoles) {
                    error("role_key \"\(noRoles)\" (no roles) cannot be combined with roles")
                } else {
                    roles = keys.isEmpty ? nil : keys
                }
            case .permissions: permissions = splitList(value)
            case .password: break
            }
        }
        guard ok else { return nil }
        if organizations.isEmpty { organizations = [""] }
        record.memberships = organizations.map {
            MembershipRecord(organization: $0, roles: roles, permissions: permissions)
        }
        return record
    }

    /// `true`/`false` (also `1`/`0`, `yes`/`no`), any case.
    static func parseBool(_ value: String) -> Bool? {
        switch value.trimmingSpaces().lowercased() {
        case "true", "1", "yes": true
        case "false", "0", "no": false
        default: nil
        }
    }

    /// The items of a comma-separated list field, trimmed, empty items dropped.
    static func splitList(_ value: String) -> [String] {
        if !value.utf8.contains(CSVByte.comma) {
            let item = value.trimmingSpaces()
            return item.isEmpty ? [] : [item]
        }
        return value.utf8.split(separator: CSVByte.comma, omittingEmptySubsequences: true).compactMap { item in
            let text = String(decoding: item, as: UTF8.self).trimmingSpaces()
            return text.isEmpty ? nil : text
        }
    }
}

extension String {
    /// The string without leading and trailing spaces and tabs.
    func trimmingSpaces() -> String {
        let utf8 = self.utf8
        guard let first = utf8.firstIndex(where: { $0 != 0x20 && $0 != 0x09 }),
              let last = utf8.lastIndex(where: { $0 != 0x20 && $0 != 0x09 }) else { return "" }
        if first == utf8.startIndex && last == utf8.index(before: utf8.endIndex) { return self }
        return String(self[first...last])
    }
}

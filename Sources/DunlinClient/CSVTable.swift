/// A CSV file (RFC 4180: comma-separated, double-quoted fields with "" for a quote, CRLF or LF)
/// read whole, with a header row naming the columns. Every error names its line and column, so a
/// bad import can be fixed where it is wrong.
public struct CSVTable: Sendable {
    public var header: [String]
    /// Data rows, each with the 1-based line it started on.
    public var rows: [(line: Int, fields: [String])]

    /// Parses a file's bytes, which must be UTF-8: the first byte that is not is refused with its
    /// line and column, never replaced (a silently altered name or amount is worse than a refusal).
    public init(parsing data: some Collection<UInt8>) throws(CSVError) {
        guard let text = String(validating: data, as: UTF8.self) else {
            var decoder = UTF8()
            var bytes = data.makeIterator()
            var line = 1
            var column = 1
            var offset = 0
            decoding: while true {
                switch decoder.decode(&bytes) {
                case .scalarValue(let scalar):
                    offset += UTF8.width(scalar)
                    if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
                case .emptyInput, .error:
                    break decoding
                }
            }
            throw .malformed(line: line, column: column, "not UTF-8 (byte \(offset + 1) of the file); save the file as UTF-8")
        }
        try self.init(parsing: text)
    }

    public init(parsing text: String) throws(CSVError) {
        var records: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var afterQuote = false
        var line = 1
        var recordLine = 1
        var column = 1
        var characters = text.unicodeScalars.makeIterator()
        var pending: Unicode.Scalar? = nil

        func endField() {
            fields.append(field)
            field = ""
            afterQuote = false
            column += 1
        }
        func endRecord() {
            endField()
            if !(fields.count == 1 && fields[0].isEmpty) { records.append((recordLine, fields)) }
            fields = []
            column = 1
        }

        while let scalar = pending ?? characters.next() {
            pending = nil
            if inQuotes {
                if scalar == "\"" {
                    let next = characters.next()
                    if next == "\"" {
                        field.unicodeScalars.append("\"")
                    } else {
                        inQuotes = false
                        afterQuote = true
                        pending = next
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"":
                guard field.isEmpty, !afterQuote else {
                    throw .malformed(line: line, column: column, "a quote inside an unquoted field")
                }
                inQuotes = true
            case ",":
                endField()
            case "\r":
                let next = characters.next()
                if next != "\n" { pending = next }
                endRecord()
                line += 1
                recordLine = line
            case "\n":
                endRecord()
                line += 1
                recordLine = line
            default:
                guard !afterQuote else {
                    throw .malformed(line: line, column: column, "text after a closing quote")
                }
                field.unicodeScalars.append(scalar)
            }
        }
        if inQuotes { throw .malformed(line: line, column: column, "a quoted field is never closed") }
        if !field.isEmpty || !fields.isEmpty { endRecord() }

        guard let first = records.first else { throw .malformed(line: 1, column: 1, "the file is empty; a header row is needed") }
        header = first.fields.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        rows = Array(records.dropFirst())
        for row in rows where row.fields.count != header.count {
            throw .malformed(
                line: row.line, column: min(row.fields.count, header.count) + 1,
                "\(row.fields.count) field(s), but the header has \(header.count)"
            )
        }
    }

    /// The 1-based column of `name`, or nil.
    public func column(_ name: String) -> Int? {
        header.firstIndex(of: name).map { $0 + 1 }
    }

    /// Checks the header has every required column.
    public func require(_ names: [String]) throws(CSVError) {
        let missing = names.filter { column($0) == nil }
        guard missing.isEmpty else {
            throw .malformed(line: 1, column: header.count + 1, "missing column(s) \(missing.joined(separator: ", ")); the header has \(header.joined(separator: ", "))")
        }
    }
}

/// What is wrong with a CSV file, and where.
public enum CSVError: Error, Sendable, Hashable, CustomStringConvertible {
    case malformed(line: Int, column: Int, String)
    /// A value that parsed as CSV but is not valid for its column.
    case invalidValue(line: Int, column: Int, name: String, String)

    public var line: Int {
        switch self {
        case .malformed(let line, _, _), .invalidValue(let line, _, _, _): line
        }
    }

    public var column: Int {
        switch self {
        case .malformed(_, let column, _), .invalidValue(_, let column, _, _): column
        }
    }

    public var description: String {
        switch self {
        case .malformed(let line, let column, let message): "line \(line), column \(column): \(message)"
        case .invalidValue(let line, let column, let name, let message): "line \(line), column \(column) (\(name)): \(message)"
        }
    }
}

import Foundation

/// Splits CSV bytes into records and fields (RFC 4180): fields separated by commas, optionally
/// quoted with `"`; inside quotes, `""` is a quote and commas/newlines are literal. Works on
/// bytes so invalid UTF-8 can be reported per record with its line number.
enum CSVReader {
    struct Record {
        enum Content {
            case fields([[UInt8]])
            case blank
        }
        /// 1-based line where the record starts.
        var line: Int
        var content: Content
    }

    /// A quote that opens a field and is never closed: everything after it, to the end of the
    /// file, would be that one field, so no record after it can be trusted.
    struct UnclosedQuote: Error {
        /// 1-based line of the opening quote.
        var line: Int
    }

    static func records(_ bytes: [UInt8]) throws(UnclosedQuote) -> [Record] {
        var records: [Record] = []
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var inQuotes = false
        var quoteLine = 1
        var fieldWasQuoted = false
        var line = 1
        var recordLine = 1
        var i = 0
        var sawAnything = false

        func endRecord() {
            fields.append(field)
            let blank = fields.count == 1 && fields[0].isEmpty && !fieldWasQuoted
            records.append(Record(line: recordLine, content: blank ? .blank : .fields(fields)))
            fields = []
            field = []
            fieldWasQuoted = false
            sawAnything = false
        }

        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == 0x22 {
                    if i + 1 < bytes.count, bytes[i + 1] == 0x22 {
                        field.append(0x22)
                        i += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case 0x22 where field.isEmpty:
                inQuotes = true
                quoteLine = line
                fieldWasQuoted = true
                sawAnything = true
            case 0x2C:
                fields.append(field)
                field = []
                fieldWasQuoted = false
                sawAnything = true
            case 0x0D where i + 1 < bytes.count && bytes[i + 1] == 0x0A:
                break  // CRLF: the LF ends the record
            case 0x0A:
                endRecord()
                line += 1
                recordLine = line
            default:
                field.append(b)
                sawAnything = true
            }
            i += 1
        }
        if inQuotes { throw UnclosedQuote(line: quoteLine) }
        if sawAnything || !field.isEmpty {
            endRecord()
        }
        return records
    }
}

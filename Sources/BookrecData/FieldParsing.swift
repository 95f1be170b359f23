import Foundation

/// Why one field of a row cannot be used.
struct FieldProblem: Error {
    let reason: String
}

/// Why reading a file failed, in the operating system's words ("No such file or directory",
/// "Permission denied", "Is a directory").
func readFailure(_ error: Error) -> String {
    let error = error as NSError
    if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code)))
    }
    switch CocoaError.Code(rawValue: error.code) {
    case .fileNoSuchFile, .fileReadNoSuchFile: return String(cString: strerror(ENOENT))
    case .fileReadNoPermission: return String(cString: strerror(EACCES))
    default: return error.localizedDescription
    }
}

/// A publication year as catalogs write it ("1997", "1997.0", "-720.0"), or nil for an empty
/// field. NaN, infinities, fractions and anything past ±9,999 are refused, never converted.
func publicationYear(_ text: String) -> Result<Int?, FieldProblem> {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    guard !trimmed.isEmpty else { return .success(nil) }
    guard let value = Double(trimmed), value.isFinite, value == value.rounded(), abs(value) < 10_000 else {
        return .failure(FieldProblem(reason: "original_publication_year \"\(text)\" is not a year"))
    }
    return .success(Int(value))
}

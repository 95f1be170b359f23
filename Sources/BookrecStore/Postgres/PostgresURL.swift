import Foundation

/// A `postgres://user@host:port/database?parameter=value` store location, and the password
/// that goes with it. The password never comes from the command line: it is read from
/// `BOOKREC_STORE_PASSWORD_FILE`, or by libpq itself from `PGPASSWORD` or `PGPASSFILE`
/// (`~/.pgpass`); a URL that carries one is accepted only from the environment (`BOOKREC_STORE`).
/// Query parameters are libpq's connection keywords, e.g. `sslmode=verify-full&sslrootcert=ca.pem`
/// for TLS.
public struct PostgresURL: Sendable, CustomStringConvertible {
    public let host: String
    public let port: Int
    public let database: String
    public let user: String?
    /// libpq connection keywords from the query string (sslmode, sslrootcert, connect_timeout, …).
    public let parameters: [(String, String)]
    let password: String?

    public init(_ string: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard let components = URLComponents(string: string), ["postgres", "postgresql"].contains(components.scheme ?? "") else {
            throw StoreError("cannot read the store URL \(Self.redacted(string)): expected postgres://user@host:port/database")
        }
        guard let host = components.host, !host.isEmpty else {
            throw StoreError("the store URL \(Self.redacted(string)) names no host")
        }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else {
            throw StoreError("the store URL \(Self.redacted(string)) names no database (postgres://user@host:port/database)")
        }
        self.host = host
        port = components.port ?? 5432
        self.database = database
        user = components.user.flatMap { $0.removingPercentEncoding ?? $0 }
        parameters = (components.queryItems ?? []).filter { $0.name != "password" }.map { ($0.name, $0.value ?? "") }
        if let file = environment["BOOKREC_STORE_PASSWORD_FILE"], !file.isEmpty {
            do {
                password = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .newlines)
            } catch {
                throw StoreError("cannot read the store password from BOOKREC_STORE_PASSWORD_FILE (\(file)): \(error.localizedDescription)")
            }
        } else {
            password = components.password.flatMap { $0.removingPercentEncoding ?? $0 }
                ?? components.queryItems?.first { $0.name == "password" }?.value
        }
    }

    /// The URL without its password: what logs and messages show.
    public var description: String {
        var components = URLComponents()
        components.scheme = "postgres"
        components.user = user
        components.host = host
        components.port = port
        components.path = "/" + database
        if !parameters.isEmpty { components.queryItems = parameters.map { URLQueryItem(name: $0.0, value: $0.1) } }
        return components.string ?? "postgres://\(host):\(port)/\(database)"
    }

    /// libpq's connection keywords and values.
    func connectionKeywords(applicationName: String, readOnly: Bool) -> [(String, String)] {
        var keywords: [(String, String)] = [("host", host), ("port", String(port)), ("dbname", database)]
        if let user { keywords.append(("user", user)) }
        if let password { keywords.append(("password", password)) }
        keywords.append(("application_name", applicationName))
        // A peer that vanished (a cut link, a host gone) is noticed within about a minute, not
        // TCP's quarter of an hour; an outage shorter than that is ridden out.
        for (keyword, value) in [("connect_timeout", "10"), ("keepalives_idle", "15"), ("keepalives_interval", "5"), ("keepalives_count", "6"), ("tcp_user_timeout", "60000")]
        where !parameters.contains(where: { $0.0 == keyword }) {
            keywords.append((keyword, value))
        }
        if readOnly { keywords.append(("options", "-c default_transaction_read_only=on")) }
        keywords += parameters
        return keywords
    }

    /// Whether a store location is a PostgreSQL URL with a password in it (as its user's password
    /// or as a `password` parameter).
    public static func hasPassword(_ location: String) -> Bool {
        guard location.hasPrefix("postgres://") || location.hasPrefix("postgresql://"), let components = URLComponents(string: location) else {
            return false
        }
        return components.password != nil || (components.queryItems ?? []).contains { $0.name == "password" }
    }

    /// A store location fit for a log line: a PostgreSQL URL loses its password; a path stays.
    static func redacted(_ location: String) -> String {
        guard hasPassword(location), var components = URLComponents(string: location) else { return location }
        components.password = nil
        let query = (components.queryItems ?? []).filter { $0.name != "password" }
        components.queryItems = query.isEmpty ? nil : query
        return components.string ?? "postgres://…"
    }
}

/// A store location fit for a log line: a PostgreSQL URL without its password, or the path.
public func redactedStoreLocation(_ location: String) -> String {
    PostgresURL.redacted(location)
}

import Foundation

/// Where and as whom to connect: `amqp://user:password@host:port/vhost`, or over TLS
/// `amqps://user:password@host:5671/vhost?cacertfile=ca.pem` (RabbitMQ's URI query parameters:
/// `cacertfile` is the CA that signed the broker's certificate, else the system's; `certfile` and
/// `keyfile` a client certificate; `verify=verify_none` skips checking the broker's certificate
/// and name, for tests only).
///
/// Credentials come from the environment (`BOOKREC_AMQP_URL`), never from command-line arguments,
/// and `description` redacts the password so the value can be logged as is.
public struct AMQPURL: Equatable, Sendable, CustomStringConvertible {
    public static let environmentVariable = "BOOKREC_AMQP_URL"
    public static let defaultURL = "amqp://guest:guest@127.0.0.1:5672/"

    public var user: String
    public var password: String
    public var host: String
    public var port: Int
    public var vhost: String
    /// TLS settings of an amqps:// URL; nil for plain amqp://.
    public var tls: TLS?

    public struct TLS: Equatable, Sendable {
        public var caCertificateFile: String?
        public var certificateFile: String?
        public var keyFile: String?
        /// Check the broker's certificate chain and that it names `host` (the default).
        public var verifyPeer = true

        public init(caCertificateFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, verifyPeer: Bool = true) {
            self.caCertificateFile = caCertificateFile
            self.certificateFile = certificateFile
            self.keyFile = keyFile
            self.verifyPeer = verifyPeer
        }
    }

    public init(user: String = "guest", password: String = "guest", host: String = "127.0.0.1",
                port: Int = 5672, vhost: String = "/", tls: TLS? = nil) {
        self.user = user
        self.password = password
        self.host = host
        self.port = port
        self.vhost = vhost
        self.tls = tls
    }

    /// Parses an AMQP URI as RabbitMQ defines it: user, password and vhost are percent-decoded
    /// (a vhost of "/" is written `%2F`); absent parts default to guest/guest, port 5672 and vhost "/".
    /// Errors never quote the URL, since it may hold a password.
    public init(parsing text: String) throws {
        let secure = text.lowercased().hasPrefix("amqps://")
        guard secure || text.lowercased().hasPrefix("amqp://") else {
            throw AMQPURLError(reason: "the scheme must be amqp:// or amqps://")
        }
        let withoutQuery = text.prefix { $0 != "?" }
        let query = text.dropFirst(withoutQuery.count).dropFirst()
        let rest = withoutQuery.dropFirst(secure ? 8 : 7)
        let authority = rest.prefix { $0 != "/" }
        let path = rest.dropFirst(authority.count).dropFirst()  // without its leading "/"

        self.init(port: secure ? 5671 : 5672, tls: secure ? TLS() : nil)
        for parameter in query.split(separator: "&") where !parameter.isEmpty {
            let name = parameter.prefix { $0 != "=" }
            let value = try Self.decode(parameter.dropFirst(name.count).dropFirst(), part: "query parameter \(name)")
            guard secure else { throw AMQPURLError(reason: "query parameters (\(name)) are for amqps:// URLs only") }
            switch name {
            case "cacertfile": tls?.caCertificateFile = value
            case "certfile": tls?.certificateFile = value
            case "keyfile": tls?.keyFile = value
            case "verify":
                guard value == "verify_peer" || value == "verify_none" else {
                    throw AMQPURLError(reason: "verify must be verify_peer or verify_none (got '\(value)')")
                }
                tls?.verifyPeer = value == "verify_peer"
            default:
                throw AMQPURLError(reason: "unknown query parameter '\(name)' (known: cacertfile, certfile, keyfile, verify)")
            }
        }
        if (tls?.certificateFile == nil) != (tls?.keyFile == nil) {
            throw AMQPURLError(reason: "certfile and keyfile go together")
        }
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            let user = userInfo.prefix { $0 != ":" }
            self.user = try Self.decode(user, part: "user")
            if user.count < userInfo.count {
                password = try Self.decode(userInfo.dropFirst(user.count + 1), part: "password")
            }
        }
        let hostPort = authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
        let portText: Substring?
        if hostPort.hasPrefix("[") {  // IPv6 literal: [::1]:5672
            guard let close = hostPort.firstIndex(of: "]") else {
                throw AMQPURLError(reason: "the IPv6 host lacks its closing ']'")
            }
            host = String(hostPort[hostPort.index(after: hostPort.startIndex)..<close])
            let afterHost = hostPort[hostPort.index(after: close)...]
            portText = afterHost.isEmpty ? nil : afterHost.dropFirst()
        } else if let colon = hostPort.lastIndex(of: ":") {
            host = try Self.decode(hostPort[..<colon], part: "host")
            portText = hostPort[hostPort.index(after: colon)...]
        } else {
            host = try Self.decode(hostPort, part: "host")
            portText = nil
        }
        if host.isEmpty { host = "127.0.0.1" }
        if let portText {
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw AMQPURLError(reason: "the port '\(portText)' is not a number from 1 to 65535")
            }
            self.port = port
        }
        vhost = path.isEmpty ? "/" : try Self.decode(path, part: "vhost")
    }

    /// The URL in `BOOKREC_AMQP_URL`, or the local default broker when it is unset or empty.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AMQPURL {
        let text = environment[environmentVariable].flatMap { $0.isEmpty ? nil : $0 } ?? defaultURL
        do {
            return try AMQPURL(parsing: text)
        } catch let error as AMQPURLError {
            throw AMQPURLError(reason: "\(environmentVariable): \(error.reason)")
        }
    }

    /// `host:port`, for log lines and errors.
    public var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The URL with the password replaced by `***`.
    public var description: String {
        let encodedVhost = vhost.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? vhost
        let encodedUser = user.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(.init(charactersIn: "-._~"))) ?? user
        return "\(tls == nil ? "amqp" : "amqps")://\(encodedUser):***@\(endpoint)/\(encodedVhost)"
    }

    private static func decode(_ part: Substring, part name: String) throws -> String {
        guard let decoded = String(part).removingPercentEncoding else {
            throw AMQPURLError(reason: "the \(name) has an invalid percent-encoding")
        }
        return decoded
    }
}

public struct AMQPURLError: Error, Equatable, CustomStringConvertible {
    public let reason: String
    public var description: String { "invalid AMQP URL: \(reason)" }
}

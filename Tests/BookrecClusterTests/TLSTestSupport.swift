import Foundation

/// A new temporary folder (named after `prefix`) holding a CA and a certificate it signs for
/// localhost and 127.0.0.1, made with openssl, and a second CA that signed nothing here. The
/// caller removes the folder.
func makeTestCertificates(prefix: String) throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let script = """
        set -e
        cd '\(directory.path)'
        openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=bookrec test CA'
        openssl req -x509 -newkey rsa:2048 -nodes -keyout stranger.key -out stranger.pem -days 2 -subj '/CN=someone else'
        openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost'
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > server.ext
        openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext
        """
    let result = try runTool("/bin/bash", ["-c", script], environment: [:])
    guard result.status == 0 else {
        try? FileManager.default.removeItem(at: directory)
        throw ClusterTestFailure("openssl could not make the test certificates: \(result.error)")
    }
    return directory
}

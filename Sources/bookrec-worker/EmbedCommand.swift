import ArgumentParser
import BookrecCLI
import BookrecCore
import BookrecImaging
import BookrecPipeline
import Foundation

struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Prints the vectors an encoder makes of texts or an image, for inspection and outside checks.",
        discussion: "hashing uses plain term frequencies here (a run fits IDF on its catalog).")

    enum EncoderName: String, ExpressibleByArgument, CaseIterable {
        case hashing, grid, minilm, efficientnet
    }

    @Option(help: "Encoder: hashing, minilm (text); grid, efficientnet (image).")
    var encoder: EncoderName

    @Option(help: "A text to encode.")
    var text: String?

    @Option(help: ArgumentHelp("A file of texts, one per line.", valueName: "path"))
    var textsFile: String?

    @Option(help: ArgumentHelp("A JPEG or PNG to encode.", valueName: "path"))
    var image: String?

    @Flag(help: "One JSON array per input instead of space-separated values.")
    var json = false

    @OptionGroup var modelsOptions: ModelsOptions

    func validate() throws {
        guard [text != nil, textsFile != nil, image != nil].filter({ $0 }).count == 1 else {
            throw ValidationError("give exactly one of --text, --texts-file and --image")
        }
        let isTextEncoder = encoder == .hashing || encoder == .minilm
        if isTextEncoder && image != nil { throw ValidationError("\(encoder.rawValue) encodes text; use --text or --texts-file") }
        if !isTextEncoder && image == nil { throw ValidationError("\(encoder.rawValue) encodes images; use --image") }
    }

    func run() throws {
        setBLASThreads(1)
        printError("worker: \(BLASKernels.current)")
        let vectors: Matrix
        if let image {
            let pixels = try ImageDecoder().decode(contentsOf: URL(fileURLWithPath: image))
            switch encoder {
            case .grid: vectors = GridCoverEncoder().encode([pixels])
            default: vectors = try PretrainedEncoders.cover(modelsDirectory: modelsOptions.directory).encode([pixels])
            }
        } else {
            let texts: [String]
            if let text {
                texts = [text]
            } else {
                let contents = try String(contentsOfFile: textsFile!, encoding: .utf8)
                texts = contents.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.isEmpty }
            }
            switch encoder {
            case .hashing: vectors = HashingTextEncoder().encode(texts)
            default: vectors = try PretrainedEncoders.text(modelsDirectory: modelsOptions.directory).encode(texts)
            }
        }
        for row in 0..<vectors.rows {
            let values = vectors.row(row).map { "\($0)" }
            print(json ? "[" + values.joined(separator: ",") + "]" : values.joined(separator: " "))
        }
    }
}

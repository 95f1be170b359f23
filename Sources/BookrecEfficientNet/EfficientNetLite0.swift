import BookrecCore
import COpenBLAS
import Foundation

/// Why the network could not be built or run.
public struct EfficientNetError: Error, CustomStringConvertible, Equatable {
    public let reason: String
    public var description: String { reason }
}

/// EfficientNet-Lite0 inference on the CPU, from the TF checkpoint converted to PyTorch
/// (`efficientnet-lite0-57934424.pth`). Matches that model in eval mode: ReLU6, no
/// squeeze-and-excitation, BatchNorm with eps 1e-3 (folded into the convolutions here), and
/// TensorFlow's asymmetric 'SAME' padding.
///
/// Activations are laid out [image][y][x][channel] (NHWC), a matrix of positions × channels:
/// every 1×1 convolution of a whole batch is then one sgemm, X[positions, in] × Wᵀ, and the
/// depthwise convolutions run along contiguous channels, which vectorises with no per-row
/// border cases.
public struct EfficientNetLite0: Sendable {
    public static let inputSize = 224
    public static let featureDimension = 1280
    public static let classCount = 1000

    /// A point of the forward pass whose activation can be observed.
    public enum Stage: Hashable, Sendable {
        case stem
        case block(Int)
        case head
    }

    private let stem: DenseConvolution
    private let blocks: [Block]
    private let head: PointwiseConvolution
    private let classifierWeights: Matrix
    private let classifierBias: [Float]

    /// The stage table of EfficientNet-Lite0: repeats, kernel, stride of the first block,
    /// expansion ratio, output channels.
    private static let stages = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80), (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
    private static let stemChannels = 32
    private static let batchNormEpsilon = 1e-3

    /// Builds the network from the bytes of the `.pth` file.
    public init(weights: Data) throws {
        try self.init(file: try LegacyTorchFile(bytes: weights))
    }

    public init(file: LegacyTorchFile) throws {
        let loader = WeightLoader(file: file, epsilon: Self.batchNormEpsilon)
        var size = Self.inputSize
        stem = try DenseConvolution(
            loader.convolution("_conv_stem.weight", batchNorm: "_bn0", shape: [Self.stemChannels, 3, 3, 3]),
            kernel: 3, stride: 2, inputSize: size)
        size = stem.padding.outputSize

        var blocks = [Block]()
        var channels = Self.stemChannels
        for (repeats, kernel, firstStride, expansion, outputChannels) in Self.stages {
            for repeatIndex in 0..<repeats {
                let prefix = "_blocks.\(blocks.count)."
                let stride = repeatIndex == 0 ? firstStride : 1
                let hidden = channels * expansion
                let expand = expansion == 1
                    ? nil
                    : PointwiseConvolution(
                        try loader.convolution(prefix + "_expand_conv.weight", batchNorm: prefix + "_bn0", shape: [hidden, channels, 1, 1]))
                let depthwise = DepthwiseConvolution(
                    try loader.convolution(prefix + "_depthwise_conv.weight", batchNorm: prefix + "_bn1", shape: [hidden, 1, kernel, kernel]),
                    kernel: kernel, stride: stride, inputSize: size)
                let project = PointwiseConvolution(
                    try loader.convolution(prefix + "_project_conv.weight", batchNorm: prefix + "_bn2", shape: [outputChannels, hidden, 1, 1]))
                blocks.append(Block(expand: expand, depthwise: depthwise, project: project, hasResidual: stride == 1 && channels == outputChannels))
                channels = outputChannels
                size = depthwise.padding.outputSize
            }
        }
        self.blocks = blocks
        head = PointwiseConvolution(
            try loader.convolution("_conv_head.weight", batchNorm: "_bn1", shape: [Self.featureDimension, channels, 1, 1]))

        let fcWeights = try loader.tensor("_fc.weight", shape: [Self.classCount, Self.featureDimension])
        classifierWeights = Matrix(rows: Self.classCount, columns: Self.featureDimension, values: fcWeights)
        classifierBias = try loader.tensor("_fc.bias", shape: [Self.classCount])
    }

    /// The 1280-d features (the head's activation averaged over the 7×7 positions) of `count`
    /// images given as NCHW float32 [count, 3, 224, 224]; row i belongs to image i.
    ///
    /// `observe`, when given, receives a copy of the activation after the stem, after every
    /// block and after the head, for checking against reference values.
    public func features(of input: [Float], count: Int, observe: ((Stage, Activation) -> Void)? = nil) -> Matrix {
        let imageSize = 3 * Self.inputSize * Self.inputSize
        precondition(input.count == count * imageSize, "input must hold \(count) images of 3x\(Self.inputSize)x\(Self.inputSize) floats")
        var result = Matrix(rows: count, columns: Self.featureDimension)
        guard count > 0 else { return result }
        let workspace = Workspace(images: count, sizes: bufferSizes)
        // The forward pass holds only the workspace's raw pointers, so the workspace must not be
        // freed before it returns.
        withExtendedLifetime(workspace) {
            input.withUnsafeBufferPointer { input in
                result.values.withUnsafeMutableBufferPointer { output in
                    forward(input.baseAddress!, images: count, workspace: workspace, features: output.baseAddress!, observe: observe)
                }
            }
        }
        return result
    }

    /// ImageNet-1k logits from features (the model's `_fc` layer); row i belongs to feature row i.
    public func logits(forFeatures features: Matrix) -> Matrix {
        precondition(features.columns == Self.featureDimension)
        var logits = Matrix(rows: features.rows, columns: Self.classCount)
        for row in 0..<features.rows {
            logits.values.replaceSubrange(row * Self.classCount..<(row + 1) * Self.classCount, with: classifierBias)
        }
        gemm(features, classifierWeights, transposeB: true, beta: 1, into: &logits)
        return logits
    }

    /// Multiply-adds of the feature extraction for one image (the classifier excluded), for
    /// relating speed to the machine's arithmetic rate.
    public var multiplyAddsPerImage: Int {
        var total = stem.weights.rows * stem.weights.columns * stem.columnsPerImage
        var size = stem.padding.outputSize
        for block in blocks {
            let hidden = block.depthwise.channels
            if let expand = block.expand { total += expand.inputChannels * hidden * size * size }
            size = block.depthwise.padding.outputSize
            total += hidden * block.depthwise.kernel * block.depthwise.kernel * size * size
            total += hidden * block.project.outputChannels * size * size
        }
        return total + head.inputChannels * head.outputChannels * size * size
    }

    /// Floats per image of the forward pass's buffers: block inputs and outputs (two, as they
    /// alternate), the expanded activation (also the stem's im2col matrix and the head's output),
    /// and the depthwise output.
    private var bufferSizes: (blockActivation: Int, expanded: Int, filtered: Int) {
        var size = stem.padding.outputSize
        var blockActivation = stem.weights.rows * size * size
        var expanded = max(stem.columnsPerImage * stem.weights.columns, blockActivation)
        var filtered = 0
        for block in blocks {
            expanded = max(expanded, block.depthwise.channels * size * size)
            size = block.depthwise.padding.outputSize
            filtered = max(filtered, block.depthwise.channels * size * size)
            blockActivation = max(blockActivation, block.project.outputChannels * size * size)
        }
        return (blockActivation, max(expanded, head.outputChannels * size * size), filtered)
    }

    private func forward(
        _ input: UnsafePointer<Float>, images: Int, workspace: Workspace, features: UnsafeMutablePointer<Float>,
        observe: ((Stage, Activation) -> Void)?
    ) {
        var current = workspace.current
        var next = workspace.next
        let expanded = workspace.expanded
        let filtered = workspace.filtered

        var size = stem.padding.outputSize
        stem.apply(input, images: images, columns: expanded, output: current)
        observe?(.stem, Activation(current, channels: stem.weights.rows, images: images, size: size))

        for (index, block) in blocks.enumerated() {
            let positions = images * size * size
            var depthwiseInput = UnsafePointer(current)
            if let expand = block.expand {
                expand.apply(current, positions: positions, output: expanded, then: .relu6)
                depthwiseInput = UnsafePointer(expanded)
            }
            block.depthwise.apply(depthwiseInput, images: images, output: filtered)
            size = block.depthwise.padding.outputSize
            block.project.apply(
                filtered, positions: images * size * size, output: next, then: block.hasResidual ? .residual(current) : .linear)
            swap(&current, &next)
            observe?(.block(index), Activation(current, channels: block.project.outputChannels, images: images, size: size))
        }

        let positions = size * size
        head.apply(current, positions: images * positions, output: expanded, then: .relu6)
        observe?(.head, Activation(expanded, channels: head.outputChannels, images: images, size: size))
        let channels = head.outputChannels
        for image in 0..<images {
            let pooled = features + image * channels
            pooled.initialize(repeating: 0, count: channels)
            for position in 0..<positions {
                let row = expanded + (image * positions + position) * channels
                for channel in 0..<channels { pooled[channel] += row[channel] }
            }
            for channel in 0..<channels { pooled[channel] /= Float(positions) }
        }
    }
}

/// A copy of one activation, laid out [image][y][x][channel].
public struct Activation: Sendable {
    public let channels: Int
    public let images: Int
    public let height: Int
    public let width: Int
    public let values: [Float]

    init(_ pointer: UnsafePointer<Float>, channels: Int, images: Int, size: Int) {
        self.channels = channels
        self.images = images
        height = size
        width = size
        values = Array(UnsafeBufferPointer(start: pointer, count: channels * images * size * size))
    }

    public subscript(image image: Int, channel channel: Int, y y: Int, x x: Int) -> Float {
        values[((image * height + y) * width + x) * channels + channel]
    }
}

/// The activation buffers of a forward pass, freed with it; uninitialised because every
/// layer writes its whole output before anything reads it.
private final class Workspace {
    let current: UnsafeMutablePointer<Float>
    let next: UnsafeMutablePointer<Float>
    let expanded: UnsafeMutablePointer<Float>
    let filtered: UnsafeMutablePointer<Float>

    init(images: Int, sizes: (blockActivation: Int, expanded: Int, filtered: Int)) {
        current = .allocate(capacity: images * sizes.blockActivation)
        next = .allocate(capacity: images * sizes.blockActivation)
        expanded = .allocate(capacity: images * sizes.expanded)
        filtered = .allocate(capacity: images * sizes.filtered)
    }

    deinit {
        for buffer in [current, next, expanded, filtered] { buffer.deallocate() }
    }
}

private struct Block: Sendable {
    let expand: PointwiseConvolution?
    let depthwise: DepthwiseConvolution
    let project: PointwiseConvolution
    let hasResidual: Bool
}

/// TensorFlow 'SAME' padding along one axis: the output is ⌈n / stride⌉ and the padding is
/// split with the smaller half before, so stride-2 convolutions pad more on the right/bottom.
struct SamePadding: Sendable, Equatable {
    let before: Int
    let total: Int
    let outputSize: Int

    init(inputSize: Int, kernel: Int, stride: Int) {
        outputSize = (inputSize + stride - 1) / stride
        total = max((outputSize - 1) * stride + kernel - inputSize, 0)
        before = total / 2
    }
}

/// A convolution's weights with its BatchNorm folded in: w' = w · γ/√(σ²+ε), b' = β − μ · γ/√(σ²+ε).
struct FoldedConvolution {
    let shape: [Int]
    let weights: [Float]
    let bias: [Float]
}

/// A 1×1 convolution: one sgemm over all positions of the batch, then bias, residual and
/// activation in a single pass.
private struct PointwiseConvolution: Sendable {
    let inputChannels: Int
    let outputChannels: Int
    let weights: [Float]
    let bias: [Float]

    init(_ folded: FoldedConvolution) {
        outputChannels = folded.shape[0]
        inputChannels = folded.shape[1]
        weights = folded.weights
        bias = folded.bias
    }

    /// What follows the convolution and its bias.
    enum Epilogue {
        case relu6
        case linear
        /// Adds the block's input (the project convolution of a block that keeps its shape).
        case residual(UnsafePointer<Float>)
    }

    func apply(_ input: UnsafePointer<Float>, positions: Int, output: UnsafeMutablePointer<Float>, then epilogue: Epilogue) {
        weights.withUnsafeBufferPointer { weights in
            blas_sgemm(
                BLAS_ROW_MAJOR, BLAS_NO_TRANS, BLAS_TRANS, Int32(positions), Int32(outputChannels), Int32(inputChannels),
                1, input, Int32(inputChannels), weights.baseAddress, Int32(inputChannels), 0, output, Int32(outputChannels))
        }
        bias.withUnsafeBufferPointer { bias in
            for position in 0..<positions {
                let row = output + position * outputChannels
                switch epilogue {
                case .relu6:
                    for channel in 0..<outputChannels { row[channel] = min(max(row[channel] + bias[channel], 0), 6) }
                case .linear:
                    for channel in 0..<outputChannels { row[channel] += bias[channel] }
                case .residual(let residual):
                    let residualRow = residual + position * outputChannels
                    for channel in 0..<outputChannels { row[channel] += bias[channel] + residualRow[channel] }
                }
            }
        }
    }
}

/// A k×k depthwise convolution with ReLU6. For each output position, the kernel taps that
/// land inside the image are accumulated along the contiguous channels (loops the compiler
/// vectorises); taps in the padding contribute nothing and are skipped.
private struct DepthwiseConvolution: Sendable {
    let channels: Int
    let kernel: Int
    let stride: Int
    let inputSize: Int
    let padding: SamePadding
    /// [ky][kx][channel], so that one tap's weights for all channels are contiguous.
    let weights: [Float]
    let bias: [Float]

    init(_ folded: FoldedConvolution, kernel: Int, stride: Int, inputSize: Int) {
        channels = folded.shape[0]
        self.kernel = kernel
        self.stride = stride
        self.inputSize = inputSize
        padding = SamePadding(inputSize: inputSize, kernel: kernel, stride: stride)
        let taps = kernel * kernel
        var weights = [Float](repeating: 0, count: folded.weights.count)
        for channel in 0..<channels {
            for tap in 0..<taps { weights[tap * channels + channel] = folded.weights[channel * taps + tap] }
        }
        self.weights = weights
        bias = folded.bias
    }

    /// The kernel taps along one axis that read inside the input for output index `index`.
    private func validTaps(_ index: Int) -> Range<Int> {
        let start = index * stride - padding.before
        return max(0, -start)..<min(kernel, inputSize - start)
    }

    func apply(_ input: UnsafePointer<Float>, images: Int, output: UnsafeMutablePointer<Float>) {
        let outputSize = padding.outputSize
        // The taps inside the image for the current output position: offsets of their weights
        // and of their input pixels (from the window's top-left corner, padding included).
        // Refilled only when the window's clipping changes, which in the interior is never.
        let weightOffsets = UnsafeMutablePointer<Int>.allocate(capacity: kernel * kernel)
        let inputOffsets = UnsafeMutablePointer<Int>.allocate(capacity: kernel * kernel)
        defer {
            weightOffsets.deallocate()
            inputOffsets.deallocate()
        }
        var tapCount = 0
        var clipping: (rows: Range<Int>, columns: Range<Int>)?

        weights.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { bias in
                let weights = weights.baseAddress!, bias = bias.baseAddress!
                for image in 0..<images {
                    let source = input + image * inputSize * inputSize * channels
                    for y in 0..<outputSize {
                        let rows = validTaps(y)
                        for x in 0..<outputSize {
                            let columns = validTaps(x)
                            if clipping?.rows != rows || clipping?.columns != columns {
                                clipping = (rows, columns)
                                tapCount = 0
                                for ky in rows {
                                    for kx in columns {
                                        weightOffsets[tapCount] = (ky * kernel + kx) * channels
                                        inputOffsets[tapCount] = (ky * inputSize + kx) * channels
                                        tapCount += 1
                                    }
                                }
                            }
                            let target = output + ((image * outputSize + y) * outputSize + x) * channels
                            // May be negative at the borders; only valid taps are added to it.
                            let corner = ((y * stride - padding.before) * inputSize + x * stride - padding.before) * channels
                            for channel in 0..<channels { target[channel] = bias[channel] }
                            // Four taps per pass over the output channels: a quarter of the
                            // loads and stores of the running sums.
                            var tap = 0
                            while tap + 4 <= tapCount {
                                let w0 = weights + weightOffsets[tap], p0 = source + (corner + inputOffsets[tap])
                                let w1 = weights + weightOffsets[tap + 1], p1 = source + (corner + inputOffsets[tap + 1])
                                let w2 = weights + weightOffsets[tap + 2], p2 = source + (corner + inputOffsets[tap + 2])
                                let w3 = weights + weightOffsets[tap + 3], p3 = source + (corner + inputOffsets[tap + 3])
                                for channel in 0..<channels {
                                    target[channel] += (w0[channel] * p0[channel] + w1[channel] * p1[channel]) + (w2[channel] * p2[channel] + w3[channel] * p3[channel])
                                }
                                tap += 4
                            }
                            while tap < tapCount {
                                let w0 = weights + weightOffsets[tap], p0 = source + (corner + inputOffsets[tap])
                                for channel in 0..<channels { target[channel] += w0[channel] * p0[channel] }
                                tap += 1
                            }
                            for channel in 0..<channels { target[channel] = min(max(target[channel], 0), 6) }
                        }
                    }
                }
            }
        }
    }
}

/// The stem's 3×3 stride-2 convolution over the 3-channel input, as im2col + one sgemm, then
/// bias and ReLU6.
private struct DenseConvolution: Sendable {
    /// [output channels, k · k · input channels], in the im2col column order (ky, kx, channel).
    let weights: Matrix
    let bias: [Float]
    let inputChannels: Int
    let kernel: Int
    let stride: Int
    let inputSize: Int
    let padding: SamePadding

    init(_ folded: FoldedConvolution, kernel: Int, stride: Int, inputSize: Int) {
        let outputChannels = folded.shape[0]
        inputChannels = folded.shape[1]
        var weights = [Float](repeating: 0, count: folded.weights.count)
        for output in 0..<outputChannels {
            for channel in 0..<inputChannels {
                for tap in 0..<kernel * kernel {
                    weights[(output * kernel * kernel + tap) * inputChannels + channel] =
                        folded.weights[(output * inputChannels + channel) * kernel * kernel + tap]
                }
            }
        }
        self.weights = Matrix(rows: outputChannels, columns: inputChannels * kernel * kernel, values: weights)
        bias = folded.bias
        self.kernel = kernel
        self.stride = stride
        self.inputSize = inputSize
        padding = SamePadding(inputSize: inputSize, kernel: kernel, stride: stride)
    }

    var columnsPerImage: Int { padding.outputSize * padding.outputSize }

    /// `input` is NCHW; `columns` is scratch for the im2col matrix; `output` gets NHWC.
    func apply(_ input: UnsafePointer<Float>, images: Int, columns: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>) {
        let outputSize = padding.outputSize
        let positions = images * columnsPerImage
        // Each image is first copied to NHWC with its padding as explicit zeros; then every
        // window row is `kernel · channels` contiguous floats and im2col is plain copies.
        let paddedSize = inputSize + padding.total
        let padded = UnsafeMutablePointer<Float>.allocate(capacity: paddedSize * paddedSize * inputChannels)
        defer { padded.deallocate() }
        let windowRow = kernel * inputChannels
        var column = columns
        for image in 0..<images {
            padded.initialize(repeating: 0, count: paddedSize * paddedSize * inputChannels)
            for channel in 0..<inputChannels {
                let plane = input + (image * inputChannels + channel) * inputSize * inputSize
                for y in 0..<inputSize {
                    let row = padded + ((y + padding.before) * paddedSize + padding.before) * inputChannels + channel
                    for x in 0..<inputSize { row[x * inputChannels] = plane[y * inputSize + x] }
                }
            }
            for y in 0..<outputSize {
                for x in 0..<outputSize {
                    for ky in 0..<kernel {
                        column.update(from: padded + ((y * stride + ky) * paddedSize + x * stride) * inputChannels, count: windowRow)
                        column += windowRow
                    }
                }
            }
        }
        let outputChannels = weights.rows
        weights.values.withUnsafeBufferPointer { weights in
            blas_sgemm(
                BLAS_ROW_MAJOR, BLAS_NO_TRANS, BLAS_TRANS, Int32(positions), Int32(outputChannels), Int32(self.weights.columns),
                1, columns, Int32(self.weights.columns), weights.baseAddress, Int32(self.weights.columns), 0, output, Int32(outputChannels))
        }
        bias.withUnsafeBufferPointer { bias in
            for position in 0..<positions {
                let row = output + position * outputChannels
                for channel in 0..<outputChannels { row[channel] = min(max(row[channel] + bias[channel], 0), 6) }
            }
        }
    }
}

/// Reads tensors by name, checks their shapes and folds BatchNorm into convolutions.
private struct WeightLoader {
    let file: LegacyTorchFile
    let epsilon: Double

    func tensor(_ name: String, shape: [Int]) throws -> [Float] {
        guard let actual = file.shape(of: name) else {
            throw EfficientNetError(reason: "the weight file has no tensor \(name); is it EfficientNet-Lite0?")
        }
        guard actual == shape else {
            throw EfficientNetError(reason: "tensor \(name) has shape \(actual), expected \(shape)")
        }
        return try file.floatTensor(name).values
    }

    func convolution(_ name: String, batchNorm prefix: String, shape: [Int]) throws -> FoldedConvolution {
        let weights = try tensor(name, shape: shape)
        let outputChannels = shape[0]
        let gamma = try tensor(prefix + ".weight", shape: [outputChannels])
        let beta = try tensor(prefix + ".bias", shape: [outputChannels])
        let mean = try tensor(prefix + ".running_mean", shape: [outputChannels])
        let variance = try tensor(prefix + ".running_var", shape: [outputChannels])
        let perChannel = weights.count / outputChannels
        var folded = [Float](repeating: 0, count: weights.count)
        var bias = [Float](repeating: 0, count: outputChannels)
        for channel in 0..<outputChannels {
            let scale = Double(gamma[channel]) / (Double(variance[channel]) + epsilon).squareRoot()
            bias[channel] = Float(Double(beta[channel]) - Double(mean[channel]) * scale)
            for index in channel * perChannel..<(channel + 1) * perChannel {
                folded[index] = Float(Double(weights[index]) * scale)
            }
        }
        return FoldedConvolution(shape: shape, weights: folded, bias: bias)
    }
}

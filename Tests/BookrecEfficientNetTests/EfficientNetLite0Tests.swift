import BookrecCore
import XCTest

@testable import BookrecEfficientNet

/// The network against the reference vectors, from the reference input tensors.
final class EfficientNetLite0Tests: XCTestCase {
    private var reference: ReferenceFile { ReferenceFixtures.reference }

    /// From the exact input tensors (.npy for the photos, the 224×224 crop PNGs for the covers):
    /// cosine ≥ 0.9999, max |diff| ≤ 1e-3, the same top-1 class, top-5 probabilities within 1e-4.
    func testFeaturesAndClassesMatchReferenceFromTheSameInputs() throws {
        let network = try ReferenceFixtures.network()
        let images = reference.allImages
        var input = [Float]()
        for image in images {
            if let npy = image.inputNpy {
                input += try ReferenceFixtures.npyFloats(npy)
            } else {
                let crop = try ReferenceFixtures.decode(ReferenceFixtures.referenceFolder.appendingPathComponent(image.cropPNG))
                CoverPreprocessing.appendNormalised(crop, to: &input)
            }
        }
        let features = network.features(of: input, count: images.count)
        let logits = network.logits(forFeatures: features)

        var worstCosine = 1.0, worstDifference = 0.0
        for (row, image) in images.enumerated() {
            let (cosine, maxDifference) = compare(features.row(row), image.featureFloats)
            worstCosine = min(worstCosine, cosine)
            worstDifference = max(worstDifference, maxDifference)
            XCTAssertGreaterThanOrEqual(cosine, 0.9999, image.file)
            XCTAssertLessThanOrEqual(maxDifference, 1e-3, image.file)

            let probability = probabilities(logits.row(row))
            let top1 = probability.indices.max { probability[$0] < probability[$1] }!
            XCTAssertEqual(top1, Int(image.top5[0][0]), "top-1 class of \(image.file)")
            for entry in image.top5 {
                XCTAssertEqual(probability[Int(entry[0])], entry[1], accuracy: 1e-4, "class \(Int(entry[0])) of \(image.file)")
            }
        }
        print("EfficientNet-Lite0 from reference inputs: min cosine \(worstCosine), max |diff| \(worstDifference)")
    }

    /// Every stage of the china input against the debug taps; the corners catch padding mistakes.
    /// Run as a batch of one, which also checks that batching does not change the features.
    func testActivationsMatchDebugTapsAtEveryStage() throws {
        let network = try ReferenceFixtures.network()
        let input = try ReferenceFixtures.npyFloats("effnet_input_china_224.npy")
        var activations = [Activation]()
        let features = network.features(of: input, count: 1) { _, activation in activations.append(activation) }
        XCTAssertLessThanOrEqual(compare(features.row(0), reference.sampleImages[0].featureFloats).maxDifference, 1e-4)

        let taps = reference.debugTapsChina.taps
        XCTAssertEqual(activations.count, taps.count)
        for (tap, activation) in zip(taps, activations) {
            XCTAssertEqual([activation.channels, activation.height, activation.width], tap.shapeCHW, tap.after)
            let sum = activation.values.reduce(0.0) { $0 + Double($1) }
            let sumAbs = activation.values.reduce(0.0) { $0 + abs(Double($1)) }
            XCTAssertEqual(sum, tap.sum, accuracy: 1e-5 * tap.sumAbs, tap.after)
            XCTAssertEqual(sumAbs, tap.sumAbs, accuracy: 1e-5 * tap.sumAbs, tap.after)

            let last = activation.height - 1, middle = activation.height / 2
            for channel in 0..<8 {
                let points = [(0, 0, tap.topLeft), (last, last, tap.bottomRight), (middle, middle, tap.middle)]
                for (y, x, expected) in points {
                    let value = Double(activation[image: 0, channel: channel, y: y, x: x])
                    XCTAssertEqual(value, expected[channel], accuracy: 1e-3, "\(tap.after), channel \(channel) at (\(y), \(x))")
                }
                let plane = (0..<activation.height).flatMap { y in (0..<activation.width).map { x in activation[image: 0, channel: channel, y: y, x: x] } }
                let mean = plane.reduce(0.0) { $0 + Double($1) } / Double(plane.count)
                XCTAssertEqual(mean, tap.spatialMean[channel], accuracy: 1e-4, "\(tap.after), mean of channel \(channel)")
            }
        }
    }

    /// TensorFlow 'SAME' padding as listed in the reference's `conv_padding`: stride-2
    /// convolutions pad less before than after.
    func testSamePaddingIsAsymmetricForStrideTwo() {
        for (inputSize, kernel, stride, before, outputSize) in [(224, 3, 2, 0, 112), (56, 5, 2, 1, 28), (14, 5, 2, 1, 7), (14, 5, 1, 2, 14), (7, 3, 1, 1, 7)] {
            let padding = SamePadding(inputSize: inputSize, kernel: kernel, stride: stride)
            XCTAssertEqual([padding.before, padding.outputSize], [before, outputSize], "\(kernel)x\(kernel) stride \(stride) on \(inputSize)")
        }
    }
}

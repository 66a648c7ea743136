package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Problem;
import attnc.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import picocli.CommandLine;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The options of {@code run} and {@code tune} that describe one launch: sizes, dtype, offset, inputs. */
final class ProblemOptions {
    @Option(names = "--shape", paramLabel = "B,H,Nq,Nkv,D", defaultValue = "1,4,512,512,64", converter = ShapeConverter.class,
            description = "Sizes of the random problem (Dv = D; default: ${DEFAULT-VALUE}). Ignored with --inputs.")
    ProblemShape shape;

    @Option(names = "--heads-kv", paramLabel = "N", description = "KV heads for GQA/MQA (default: H).")
    Integer kvHeads;

    @Option(names = "--dtype", paramLabel = "TYPE", defaultValue = "float32", converter = FloatDTypeConverter.class,
            description = "float32 or bfloat16: the random q, k, v are rounded to it (default: ${DEFAULT-VALUE}).")
    DType dtype;

    @Option(names = "--offset", paramLabel = "N",
            description = "Absolute position of the first query (default: Nkv - Nq when Nq <= Nkv, else 0).")
    Integer offset;

    @Option(names = "--inputs", paramLabel = "DIR", description = "Read q.npy, k.npy, v.npy and NAME.npy for each declared input from DIR.")
    Path inputsFolder;

    @Mixin
    InputOptions inputOptions;

    /** The launch: read from --inputs, or random from {@code seed}. */
    Problem build(Pattern pattern, Map<String, Expr> params, long seed) throws IOException {
        int queryOffset = offset == null ? Problem.BOTTOM_RIGHT : offset;
        if (offset != null && offset < 0) throw new UserError("--offset must be >= 0, got " + offset);
        if (inputsFolder != null) {
            NpyFolder.Tensors t = NpyFolder.read(inputsFolder, pattern);
            return new Problem(t.q(), t.k(), t.v(), t.inputs(), params, queryOffset);
        }
        int hkv = kvHeads == null ? shape.heads() : kvHeads;
        if (hkv < 1 || shape.heads() % hkv != 0) {
            throw new UserError("--heads-kv " + hkv + ": expected a divisor of H = " + shape.heads() + " (GQA/MQA)");
        }
        Random random = new Random(seed);
        Tensor q = Tensor.random(dtype, new int[] {shape.batch(), shape.heads(), shape.queries(), shape.headDim()}, random);
        Tensor k = Tensor.random(dtype, new int[] {shape.batch(), hkv, shape.keys(), shape.headDim()}, random);
        Tensor v = Tensor.random(dtype, new int[] {shape.batch(), hkv, shape.keys(), shape.headDim()}, random);
        Map<String, Integer> sizes = new LinkedHashMap<>(Map.of("B", shape.batch(), "H", shape.heads(), "Hkv", hkv,
                "Nq", shape.queries(), "Nkv", shape.keys(), "D", shape.headDim(), "Dv", shape.headDim()));
        sizes.putAll(RandomInputs.symbolicSizes(pattern, inputOptions.sizes));
        return new Problem(q, k, v, RandomInputs.make(pattern, sizes, random, inputOptions.intBound), params, queryOffset);
    }

    static final class ShapeConverter implements CommandLine.ITypeConverter<ProblemShape> {
        @Override public ProblemShape convert(String value) { return ProblemShape.parse(value); }
    }

    static final class FloatDTypeConverter implements CommandLine.ITypeConverter<DType> {
        @Override
        public DType convert(String value) {
            if (value.equals("float32")) return DType.FLOAT32;
            if (value.equals("bfloat16")) return DType.BFLOAT16;
            throw new CommandLine.TypeConversionException("expected float32 or bfloat16, got '" + value + "'");
        }
    }
}

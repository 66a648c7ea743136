package attnc.cli;

import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Memory;
import attnc.launch.Problem;
import attnc.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
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

    @Option(names = "--latent", paramLabel = "DV",
            description = "MLA's latent cache: V is the view of K's first DV columns, one cache read once (Dv = DV; with --kv-lengths, the V pool the same "
                    + "view of the K pool). Not with --inputs.")
    Integer latent;

    @Option(names = "--inputs", paramLabel = "DIR", description = "Read q.npy, k.npy, v.npy and NAME.npy for each declared input from DIR.")
    Path inputsFolder;

    @Mixin
    InputOptions inputOptions;

    /** The launch: read from --inputs, or random from {@code seed}; nothing of the command's own. */
    Problem build(Pattern pattern, Map<String, Expr> params, long seed) throws IOException {
        return build(pattern, params, seed, 0, List.of());
    }

    /**
     * The launch: read from --inputs, or random from {@code seed}. Random tensors are allocated
     * only after the whole command's memory is known to fit: theirs, plus {@code
     * bytesPerOutputElement} for each element of the output [B, H, Nq, Dv] (the kernel's output,
     * the reference's, ...). {@code notes} hears conversions made on reading.
     */
    Problem build(Pattern pattern, Map<String, Expr> params, long seed, long bytesPerOutputElement, List<String> notes) throws IOException {
        if (offset != null && offset < 0) throw new UserError("--offset must be >= 0, got " + offset);
        int queryOffset = offset == null ? Problem.BOTTOM_RIGHT : offset;
        if (inputsFolder != null) {
            if (latent != null) throw new UserError("--latent does not apply to --inputs (v.npy is read as it is)");
            NpyFolder.Tensors t = NpyFolder.read(inputsFolder, pattern);
            notes.addAll(t.notes());
            return new Problem(t.q(), t.k(), t.v(), t.inputs(), params, queryOffset);
        }
        int hkv = kvHeads == null ? shape.heads() : kvHeads;
        if (hkv < 1 || shape.heads() % hkv != 0) {
            throw new UserError("--heads-kv " + hkv + ": expected a divisor of H = " + shape.heads() + " (GQA/MQA)");
        }
        if (offset != null && (long) offset + shape.queries() > Integer.MAX_VALUE) {
            throw new UserError("--offset " + offset + " with Nq = " + shape.queries() + ": query positions up to " + ((long) offset + shape.queries() - 1)
                    + " do not fit in int32; expected --offset + Nq <= " + Integer.MAX_VALUE);
        }
        Map<String, Integer> sizes = new LinkedHashMap<>(Map.of("B", shape.batch(), "H", shape.heads(), "Hkv", hkv,
                "Nq", shape.queries(), "Nkv", shape.keys(), "D", shape.headDim(), "Dv", valueDim()));
        sizes.putAll(RandomInputs.symbolicSizes(pattern, inputOptions.random.sizes));
        requireMemory(pattern, sizes, bytesPerOutputElement);
        Random random = new Random(seed);
        Tensor q = Tensor.random(dtype, new int[] {shape.batch(), shape.heads(), shape.queries(), shape.headDim()}, random);
        Tensor k = Tensor.random(dtype, new int[] {shape.batch(), hkv, shape.keys(), shape.headDim()}, random);
        Tensor v = latent != null ? k.leadingColumns(latent) : Tensor.random(dtype, new int[] {shape.batch(), hkv, shape.keys(), shape.headDim()}, random);
        return new Problem(q, k, v, RandomInputs.make(pattern, sizes, random, inputOptions.random.intBound), params, queryOffset);
    }

    /** Dv: --latent's, checked against D, else D. */
    int valueDim() {
        if (latent == null) return shape.headDim();
        if (latent < 1 || latent > shape.headDim()) throw new UserError("--latent " + latent + ": expected 1 to D = " + shape.headDim() + " (V is K's first DV columns)");
        return latent;
    }

    private static void requireMemory(Pattern pattern, Map<String, Integer> sizes, long bytesPerOutputElement) {
        long q = Memory.elements("q [B, H, Nq, D]", sizes.get("B"), sizes.get("H"), sizes.get("Nq"), sizes.get("D"));
        long kv = Memory.elements("k [B, Hkv, Nkv, D]", sizes.get("B"), sizes.get("Hkv"), sizes.get("Nkv"), sizes.get("D"));
        long inputs = 0;
        for (var entry : RandomInputs.shapes(pattern, sizes).entrySet()) {
            inputs += Memory.elements("input '" + entry.getKey() + "'", java.util.Arrays.stream(entry.getValue()).asLongStream().toArray());
        }
        long out = Memory.elements("the output [B, H, Nq, Dv]", sizes.get("B"), sizes.get("H"), sizes.get("Nq"), sizes.get("Dv"));
        long tensors = 4 * (q + 2 * kv + inputs);
        long rest = bytesPerOutputElement * out;
        Memory.require(tensors + rest, "q, k, v and inputs " + Memory.human(tensors)
                + (rest == 0 ? "" : ", outputs " + Memory.human(rest)));
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

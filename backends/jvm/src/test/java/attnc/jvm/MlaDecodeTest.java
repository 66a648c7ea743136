package attnc.jvm;

import attnc.gen.PatternGenerator;
import attnc.gen.RaggedBatches;
import attnc.gen.RandomProblems;
import attnc.gen.Style;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.launch.KvCache;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.pass.Passes;
import attnc.reference.Reference;
import attnc.tensor.Tensor;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;

/**
 * MLA-shaped decode (DeepSeek's absorbed form) on the JVM decode kernel against the
 * double-precision reference: one latent KV head (sometimes two), GQA groups of 16 to 128 query
 * heads, D = 576 and Dv = 512 with V either its own tensor or K's first 512 columns (a view of
 * K's storage, {@link Tensor#view}: the cache holds the latent once), 1 to 4 queries at the bottom
 * right of an odd number of keys, K and V contiguous ({@code forward(Problem)}) or paged through
 * a shuffled block table ({@code forward(RaggedBatch)}), fp32. Random patterns from the shared
 * generator, those whose mask, score or scale read h included: every one takes the same kernel.
 * The bound is {@link Agreement}'s 2e-5 of o's scale, whose margin is for dot products of a few
 * hundred fp32 terms, times 576 / 128 = 4.5: a score's rounding error grows with its terms, and
 * one seed of a CI run (-8768379914137747434) put a paged case 2.15e-5 off. NaN never passes.
 */
class MlaDecodeTest {
    private static final int D = 576, DV = 512;
    private static final double RELATIVE = Agreement.RELATIVE * D / 128;
    private static final int[] GROUPS = {16, 32, 64, 128};
    private static final int[] PAGES = {1, 16, 64};

    @Property(tries = 40)
    void contiguousMlaDecodeAgreesWithReference(@ForAll long seed) {
        Random random = new Random(seed);
        Pattern pattern = pattern(random);
        int batch = 1 + random.nextInt(2), kvHeads = random.nextInt(4) == 0 ? 2 : 1, heads = kvHeads * group(random, kvHeads);
        int nq = 1 + random.nextInt(4), nkv = oddKeys(random);
        boolean shared = random.nextInt(3) != 0;
        Tensor q = Tensor.random(DType.FLOAT32, new int[] {batch, heads, nq, D}, random);
        Tensor k = Tensor.random(DType.FLOAT32, new int[] {batch, kvHeads, nkv, D}, random);
        Tensor v = shared ? k.leadingColumns(DV) : Tensor.random(DType.FLOAT32, new int[] {batch, kvHeads, nkv, DV}, random);
        Map<String, Integer> sizes = Map.of("B", batch, "H", heads, "Hkv", kvHeads, "Nq", nq, "Nkv", nkv, "D", D, "Dv", DV);
        Problem problem = new Problem(q, k, v, inputs(pattern, sizes, random), params(pattern, random), Problem.BOTTOM_RIGHT);
        String what = Printer.pattern(pattern) + "-- B " + batch + ", H " + heads + ", Hkv " + kvHeads + ", Nq " + nq + ", Nkv " + nkv + (shared ? ", V in K" : "");
        Agreement.check(Reference.run(pattern, problem), new JvmBackend().compile(pattern).forward(problem), what, RELATIVE);
    }

    @Property(tries = 30)
    void pagedMlaDecodeAgreesWithEachSequencesDenseLaunch(@ForAll long seed) {
        Random random = new Random(seed);
        Pattern pattern = pattern(random);
        int batch = 1 + random.nextInt(2), heads = group(random, 1), nq = 1 + random.nextInt(4), page = PAGES[random.nextInt(PAGES.length)];
        int[] nkv = new int[batch], starts = new int[batch + 1];
        for (int b = 0; b < batch; b++) {
            nkv[b] = oddKeys(random);
            starts[b + 1] = starts[b] + nq;
        }
        boolean shared = random.nextInt(3) != 0;
        RaggedBatches.PageTable table = RaggedBatches.PageTable.random(nkv, page, random);
        Tensor kPool = Tensor.random(DType.FLOAT32, new int[] {table.pages(), page, 1, D}, random);
        Tensor vPool = shared ? kPool.leadingColumns(DV) : Tensor.random(DType.FLOAT32, new int[] {table.pages(), page, 1, DV}, random);
        KvCache cache = new KvCache(kPool, vPool, Tensor.wrap(table.entries(), batch, table.maxPages()), Tensor.wrap(nkv.clone(), batch));
        Map<String, Integer> sizes = Map.of("B", batch, "H", heads, "Hkv", 1, "Nq", nq, "Nkv", Arrays.stream(nkv).max().orElse(0), "D", D, "Dv", DV);
        RaggedBatch ragged = new RaggedBatch(Tensor.random(DType.FLOAT32, new int[] {starts[batch], heads, D}, random), Tensor.wrap(starts, batch + 1), cache,
                inputs(pattern, sizes, random), params(pattern, random), random.nextInt(4));
        RaggedKernelTest.Case c = new RaggedKernelTest.Case(pattern, ragged);
        RaggedBinding binding = RaggedBinding.of(pattern, ragged);
        Agreement.check(RaggedKernelTest.denseReference(c, binding), new JvmBackend().compile(pattern).forward(ragged), (shared ? "V in K, " : "") + c,
                RELATIVE);
    }

    /**
     * Every pattern in examples/ (ALiBi, per-head scales, sinks, windows, ... : those reading h or
     * q included) at an MLA shape: 64 heads over one KV head, V in K, 1 or 3 queries, 97 keys.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.MethodSource("attnc.jvm.ExamplesTest#examples")
    void everyExampleAtAnMlaShape(java.nio.file.Path file) throws Exception {
        Pattern pattern = Passes.optimize(attnc.front.Frontend.compile(file), Map.of());
        Random random = new Random(file.getFileName().toString().hashCode());
        int heads = 64, nq = 1 + 2 * random.nextInt(2), nkv = 97;
        Tensor k = Tensor.random(DType.FLOAT32, new int[] {1, 1, nkv, D}, random);
        Map<String, Integer> sizes = new HashMap<>(Map.of("B", 1, "H", heads, "Hkv", 1, "Nq", nq, "Nkv", nkv, "D", D, "Dv", DV));
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) inputs.put(input.name(), ExamplesTest.randomInput(input, sizes, random));
        Map<String, Expr> params = new LinkedHashMap<>();
        for (Param p : pattern.params()) {
            if (p.defaultValue().isEmpty()) params.put(p.name(), p.type() == attnc.ir.Type.FLOAT ? new Expr.FloatLit(0.5)
                    : p.type() == attnc.ir.Type.INT ? new Expr.IntLit(3) : new Expr.BoolLit(true));
        }
        Problem problem = new Problem(Tensor.random(DType.FLOAT32, new int[] {1, heads, nq, D}, random), k, k.leadingColumns(DV), inputs, params,
                Problem.BOTTOM_RIGHT);
        Agreement.check(Reference.run(pattern, problem), new JvmBackend().compile(pattern).forward(problem), file + ", Nq " + nq, RELATIVE);
    }

    private static Pattern pattern(Random random) {
        return Passes.optimize(PatternGenerator.generate(random, random.nextInt(3), Style.TAME).withTile(Optional.empty()), Map.of());
    }

    /** A group of 16 to 128 heads; with two KV heads at most 64, to keep the reference quick. */
    private static int group(Random random, int kvHeads) {
        return GROUPS[random.nextInt(kvHeads == 1 ? GROUPS.length : GROUPS.length - 1)];
    }

    /** An odd key count: 1, or up to 161 (whole key tiles of 64 and a ragged last one). */
    private static int oddKeys(Random random) {
        return random.nextInt(5) == 0 ? 1 : 1 + 2 * random.nextInt(81);
    }

    private static Map<String, Tensor> inputs(Pattern pattern, Map<String, Integer> sizes, Random random) {
        Map<String, Integer> bound = new HashMap<>(sizes);
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) inputs.put(input.name(), RandomProblems.tensor(input, bound, random));
        return inputs;
    }

    private static Map<String, Expr> params(Pattern pattern, Random random) {
        Map<String, Expr> params = new LinkedHashMap<>();
        for (Param p : pattern.params()) {
            if (p.defaultValue().isEmpty() || random.nextBoolean()) params.put(p.name(), RandomProblems.paramValue(p, random));
        }
        return params;
    }
}

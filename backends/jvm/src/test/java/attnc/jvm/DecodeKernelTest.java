package attnc.jvm;

import attnc.gen.PatternGenerator;
import attnc.gen.RaggedBatches;
import attnc.gen.RandomProblems;
import attnc.gen.Style;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.launch.KvCache;
import attnc.launch.RaggedBatch;
import attnc.launch.RaggedBinding;
import attnc.pass.Passes;
import attnc.tensor.Tensor;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The decode kernel (every sequence at most 16 queries) against the double-precision reference's
 * dense launch of each sequence, on random patterns from the shared generator and batches shaped
 * like serving: 1 to 3 KV heads (more than one: a work item reads all of them, a page at a time),
 * GQA groups of 1 to 8 query heads, 0 to 16 queries, 0, 1 or up to 300 keys, page
 * sizes 1 to 256 with shuffled and shared pages, head dims that are whole vectors (K and V read in
 * place) or not (copied), float32 and bfloat16 storage, 1 to 7 splits or the kernel's own choice.
 * The bound is {@link Agreement}'s 2e-5 of the output's scale, also for bfloat16: the kernel and
 * the reference read the same rounded values, so only fp32 arithmetic separates them (dot
 * products of up to 256 terms, the online softmax's exp, one rounding per merged split).
 */
class DecodeKernelTest {
    private static final int[] PAGES = {1, 2, 4, 8, 16, 32, 64, 128, 256};
    private static final int[] HEAD_DIMS = {16, 32, 64, 128, 20};
    private static final int[] GROUPS = {1, 2, 3, 4, 8};

    @Provide
    Arbitrary<RaggedKernelTest.Case> cases() { return cases(false); }

    /** Only groups × queries that fill more than half a vector: the scores' layout of a vector's rows in lanes ({@code DecodeLaunch.blockRows}). */
    @Provide
    Arbitrary<RaggedKernelTest.Case> laneCases() { return cases(true); }

    private static Arbitrary<RaggedKernelTest.Case> cases(boolean laneRows) {
        return Combinators.combine(Arbitraries.longs(), Arbitraries.integers().between(0, 3)).as((seed, depth) -> {
            Random random = new Random(seed);
            Pattern pattern = Passes.optimize(PatternGenerator.generate(random, depth, Style.TAME).withTile(Optional.empty()), Map.of());
            return new RaggedKernelTest.Case(pattern, batch(pattern, random, laneRows));
        });
    }

    @Property(tries = 50)
    void decodeAgreesWithEachSequencesDenseLaunch(@ForAll("cases") RaggedKernelTest.Case c) {
        JvmKernel kernel = new JvmBackend().compile(c.pattern());
        RaggedBinding binding = RaggedBinding.of(c.pattern(), c.batch());
        Agreement.check(RaggedKernelTest.denseReference(c, binding), kernel.forward(c.batch()), "splits " + c.batch().kvSplits() + "\n" + c);
    }

    @Property(tries = 30)
    void decodeWithTheGroupsRowsInLanesAgrees(@ForAll("laneCases") RaggedKernelTest.Case c) {
        decodeAgreesWithEachSequencesDenseLaunch(c);
    }

    /** A serving-shaped batch for {@code pattern}: see the class comment. */
    static RaggedBatch batch(Pattern pattern, Random random) { return batch(pattern, random, false); }

    /** The same, with groups of 4 or 8 heads and 3 to 16 queries a sequence (or none) where {@code laneRows}. */
    static RaggedBatch batch(Pattern pattern, Random random, boolean laneRows) {
        int group = laneRows ? 4 << random.nextInt(2) : GROUPS[random.nextInt(GROUPS.length)];
        int batch = 1 + random.nextInt(4), kvHeads = 1 + random.nextInt(3), heads = kvHeads * group;
        int d = HEAD_DIMS[random.nextInt(HEAD_DIMS.length)], dv = random.nextBoolean() ? d : HEAD_DIMS[random.nextInt(HEAD_DIMS.length)];
        int page = PAGES[random.nextInt(PAGES.length)];
        DType dtype = random.nextInt(3) == 0 ? DType.BFLOAT16 : DType.FLOAT32;
        boolean keysShapeInputs = pattern.inputs().stream().anyMatch(i -> i.shape().stream().anyMatch(
                e -> ExprTree.any(e, x -> x instanceof Expr.SizeRef(String n) && n.equals("Nkv"))));
        int[] nq = new int[batch], nkv = new int[batch], starts = new int[batch + 1];
        for (int b = 0; b < batch; b++) {
            nq[b] = random.nextInt(6) == 0 ? 0 : laneRows ? 3 + random.nextInt(14) : 1 + random.nextInt(16);
            nkv[b] = switch (random.nextInt(5)) {
                case 0 -> keysShapeInputs ? 1 : 0;
                case 1 -> 1;
                default -> 1 + random.nextInt(300);
            };
            starts[b + 1] = starts[b] + nq[b];
        }
        RaggedBatches.PageTable table = RaggedBatches.PageTable.random(nkv, page, random);
        KvCache cache = new KvCache(Tensor.random(dtype, new int[] {table.pages(), page, kvHeads, d}, random),
                Tensor.random(dtype, new int[] {table.pages(), page, kvHeads, dv}, random),
                Tensor.wrap(table.entries(), batch, table.maxPages()), Tensor.wrap(nkv.clone(), batch));
        Tensor q = Tensor.random(dtype, new int[] {starts[batch], heads, d}, random);
        Map<String, Integer> sizes = new HashMap<>(Map.of("B", batch, "H", heads, "Hkv", kvHeads, "D", d, "Dv", dv,
                "Nq", java.util.Arrays.stream(nq).max().orElse(0), "Nkv", java.util.Arrays.stream(nkv).max().orElse(0)));
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (Input input : pattern.inputs()) inputs.put(input.name(), RandomProblems.tensor(input, sizes, random));
        Map<String, Expr> params = new LinkedHashMap<>();
        for (Param p : pattern.params()) {
            if (p.defaultValue().isEmpty() || random.nextBoolean()) params.put(p.name(), RandomProblems.paramValue(p, random));
        }
        return new RaggedBatch(q, Tensor.wrap(starts, batch + 1), cache, inputs, params, random.nextInt(8));
    }
}

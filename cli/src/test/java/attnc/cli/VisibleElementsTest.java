package attnc.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.launch.Binding;
import attnc.launch.Problem;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** The counts and grids against masks evaluated directly here, for random sizes, windows, rows and documents. */
class VisibleElementsTest {
    private static final String DOCUMENT_WINDOW = """
            param window: int = 4
            input doc: int32[B, Nkv]
            mask: q >= kv && q - kv < window && doc[b, q] == doc[b, kv]
            """;

    @Property(tries = 40)
    void countsAndGridsAgreeWithADirectEvaluation(@ForAll @IntRange(min = 1, max = 2) int batch, @ForAll @IntRange(min = 1, max = 3) int heads,
                                                  @ForAll @IntRange(min = 1, max = 24) int queries, @ForAll @IntRange(min = 1, max = 80) int keys,
                                                  @ForAll @IntRange(min = 1, max = 9) int window, @ForAll long seed) throws Exception {
        // doc[b, q] needs q < Nkv: queries never outnumber keys here.
        Assume.that(queries <= keys);
        Pattern pattern = Frontend.compile("probe.attn", DOCUMENT_WINDOW);
        Random random = new Random(seed);
        int[] doc = new int[batch * keys];
        for (int i = 0; i < doc.length; i++) doc[i] = random.nextInt(3);
        Map<String, Tensor> inputs = Map.of("doc", Tensor.ofInts(DType.INT32, new int[] {batch, keys}, doc));
        Tensor q = Tensor.random(DType.FLOAT32, new int[] {batch, heads, queries, 4}, random);
        Tensor k = Tensor.random(DType.FLOAT32, new int[] {batch, heads, keys, 4}, random);
        Tensor v = Tensor.random(DType.FLOAT32, new int[] {batch, heads, keys, 3}, random);
        Binding binding = Binding.of(pattern, new Problem(q, k, v, inputs, Map.of("window", new Expr.IntLit(window)), Problem.BOTTOM_RIGHT));
        int offset = Math.max(0, keys - queries);

        long expected = 0, firstRow = 0;
        for (int b = 0; b < batch; b++) for (int qi = 0; qi < queries; qi++) for (int kv = 0; kv < keys; kv++) {
            int position = offset + qi;
            if (position >= kv && position - kv < window && doc[b * keys + position] == doc[b * keys + kv]) {
                expected += heads;
                if (b == 0 && qi == 0) firstRow++;
            }
        }
        assertEquals(expected, VisibleElements.count(pattern, binding, inputs, null));
        assertEquals(firstRow, VisibleElements.count(pattern, binding, inputs, new int[] {0}), "one row, (b, h, q) = (0, 0, 0)");

        boolean[][] grid = VisibleElements.grid(pattern, binding, inputs, batch - 1, heads - 1);
        for (int qi = 0; qi < queries; qi++) for (int kv = 0; kv < keys; kv++) {
            int position = offset + qi;
            boolean visible = position >= kv && position - kv < window && doc[(batch - 1) * keys + position] == doc[(batch - 1) * keys + kv];
            assertEquals(visible, grid[qi][kv], "q " + qi + " kv " + kv);
        }
    }
}

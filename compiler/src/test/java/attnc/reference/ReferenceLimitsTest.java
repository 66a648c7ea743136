package attnc.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.BinaryOp;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.ir.Type;
import attnc.launch.Binding;
import attnc.launch.KvCache;
import attnc.launch.Memory;
import attnc.launch.Partial;
import attnc.launch.Problem;
import attnc.launch.RaggedBatch;
import attnc.launch.ShapeException;
import attnc.tensor.Tensor;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What the reference refuses before it works: a launch whose double-precision output does not
 * fit in the heap (counting o before an output transform, which it keeps too), a merged partial
 * that is not this launch's, and lets nested deeper than its slots. The launches are shaped so
 * that the output is large and the inputs tiny (D = 1, one key, Dv wide), and sized from the
 * heap this JVM may have, so the refusal is the only way the call can end well: nothing is
 * allocated when it is refused, and a missing or undercounting check would allocate past the
 * heap (an OutOfMemoryError, after a long wait for a collection).
 */
class ReferenceLimitsTest {
    private static final int DV = 4096;

    @Test
    void aDenseOutputLargerThanTheHeapIsRefusedBeforeItIsAllocated() throws CompileException {
        ShapeException e = assertThrows(ShapeException.class, () -> Reference.run(pattern("mask: true"), dense(rowsFilling(1.2))));
        assertHeapRefusal(e);
    }

    @Test
    void theDenseFigureCountsOBeforeTheOutputTransform() throws CompileException {
        // The output alone takes 0.6 of the heap; with o kept beside it, 1.2.
        ShapeException e = assertThrows(ShapeException.class, () -> Reference.run(pattern("mask: true\noutput: o * 2.0"), dense(rowsFilling(0.6))));
        assertHeapRefusal(e);
    }

    @Test
    void aRaggedOutputLargerThanTheHeapIsRefusedBeforeItIsAllocated() throws CompileException {
        ShapeException e = assertThrows(ShapeException.class, () -> RaggedReference.run(pattern("mask: true"), ragged(rowsFilling(1.2))));
        assertHeapRefusal(e);
    }

    @Test
    void theRaggedFigureCountsOBeforeTheOutputTransform() throws CompileException {
        ShapeException e = assertThrows(ShapeException.class, () -> RaggedReference.run(pattern("mask: true\noutput: o * 2.0"), ragged(rowsFilling(0.6))));
        assertHeapRefusal(e);
    }

    @Test
    void finishRefusesAPartialOfAnotherShape() throws CompileException {
        Pattern pattern = pattern("mask: true");
        RaggedBatch batch = ragged(3);
        Partial wide = new Partial(Tensor.wrap(new float[3 * (DV + 1)], 1, 3, DV + 1), Tensor.wrap(new float[3], 1, 3));
        ShapeException e = assertThrows(ShapeException.class, () -> RaggedReference.finish(pattern, batch, wide));
        assertEquals("partial out: expected shape [1, 3, " + DV + "] [totalQ, H, Dv], got [1, 3, " + (DV + 1) + "]", e.getMessage());
        Partial noLse = new Partial(Tensor.wrap(new float[3 * DV], 1, 3, DV), null);
        assertThrows(ShapeException.class, () -> RaggedReference.finish(pattern, batch, noLse), "a softmax partial without its LSE");
    }

    @Test
    void lets256DeepEvaluateAndOneMoreIsRefused() throws CompileException {
        Binding binding = Binding.of(pattern("mask: true"), dense(1));
        assertEquals(256, new ElementEvaluator(binding, Map.of()).ints(nestedLets(256)).at(0, 0, 0, 0, 0), "each let adds 1 to the one outside it");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> new ElementEvaluator(binding, Map.of()).ints(nestedLets(257)));
        assertEquals("lets nested more than 256 deep", e.getMessage());
    }

    /** let x = 0 + 1 in let x = x + 1 in ... x: {@code depth} lets, each body the next, the value of x the depth. */
    private static Expr nestedLets(int depth) {
        Expr body = new Expr.LocalRef("x", Type.INT);
        for (int i = depth - 1; i >= 0; i--) {
            Expr previous = i == 0 ? new Expr.IntLit(0) : new Expr.LocalRef("x", Type.INT);
            body = new Expr.Let("x", new Expr.Binary(BinaryOp.ADD, previous, new Expr.IntLit(1)), body);
        }
        return body;
    }

    /** Rows (query heads of one query) whose [rows, Dv] doubles take {@code heapFraction} of the most heap this JVM may have. */
    private static int rowsFilling(double heapFraction) {
        long elements = (long) (Runtime.getRuntime().maxMemory() * heapFraction / Double.BYTES);
        assumeTrue(2 * elements <= Memory.MAX_ARRAY, "the heap is so large that the output would hit the array limit first");
        return (int) (elements / DV) + 1;
    }

    /** H = rows query heads over one KV head, one query, one key, D = 1. */
    private static Problem dense(int rows) {
        return new Problem(Tensor.wrap(new float[rows], 1, rows, 1, 1), Tensor.wrap(new float[1], 1, 1, 1, 1), Tensor.wrap(new float[DV], 1, 1, 1, DV), Map.of());
    }

    /** One sequence of one query with H = rows heads, one key on one page, D = 1. */
    private static RaggedBatch ragged(int rows) {
        KvCache cache = new KvCache(Tensor.wrap(new float[1], 1, 1, 1, 1), Tensor.wrap(new float[DV], 1, 1, 1, DV),
                Tensor.wrap(new int[] {0}, 1, 1), Tensor.wrap(new int[] {1}, 1));
        return new RaggedBatch(Tensor.wrap(new float[rows], 1, rows, 1), Tensor.wrap(new int[] {0, 1}, 2), cache, Map.of());
    }

    private static void assertHeapRefusal(ShapeException e) {
        assertTrue(e.getMessage().contains("the reference's double-precision output and LSE") && e.getMessage().contains("-Xmx"), e.getMessage());
    }

    private static Pattern pattern(String text) throws CompileException {
        return Frontend.compile("limits", text);
    }
}

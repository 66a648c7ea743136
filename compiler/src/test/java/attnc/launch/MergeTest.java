package attnc.launch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.ir.DType;
import attnc.tensor.Tensor;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * The LSE merge: associative and commutative up to float32 rounding (each merge rounds o and
 * lse to float32 once, about 6e-8 relative; two merges in another grouping differ by a few
 * of those, so 1e-6 relative to the row's scale), one part merges to itself exactly, empty
 * rows stay empty, sums add.
 */
class MergeTest {

    @Property(tries = 300)
    void mergingIsAssociativeAndCommutative(@ForAll long seed, @ForAll @IntRange(min = 1, max = 6) int rows, @ForAll @IntRange(min = 1, max = 5) int width) {
        Random random = new Random(seed);
        Partial a = random(random, rows, width, true), b = random(random, rows, width, true), c = random(random, rows, width, true);
        Partial left = Merge.merge(List.of(Merge.merge(List.of(a, b)), c)), right = Merge.merge(List.of(a, Merge.merge(List.of(b, c))));
        Partial flat = Merge.merge(List.of(a, b, c)), swapped = Merge.merge(List.of(c, a, b));
        for (Partial other : List.of(right, flat, swapped)) close(left, other);
    }

    @Property(tries = 100)
    void onePartMergesToItself(@ForAll long seed, @ForAll @IntRange(min = 1, max = 6) int rows, @ForAll @IntRange(min = 1, max = 5) int width) {
        Partial a = random(new Random(seed), rows, width, true);
        Partial same = Merge.merge(List.of(a));
        assertArrayEquals(a.out().floats(), same.out().floats());
        assertArrayEquals(a.lse().floats(), same.lse().floats());
    }

    @Example
    void theLseRuleAndEmptyRows() {
        float inf = Float.NEGATIVE_INFINITY;
        Partial a = new Partial(Tensor.wrap(new float[] {1, 2, 0, 0, 5, 5}, 3, 2), Tensor.wrap(new float[] {0, inf, inf}, 3));
        Partial b = new Partial(Tensor.wrap(new float[] {3, 4, 0, 0, 7, 9}, 3, 2), Tensor.wrap(new float[] {(float) Math.log(3), inf, 1}, 3));
        Partial m = Merge.merge(List.of(a, b));
        float[] o = m.out().floats(), lse = m.lse().floats();
        assertEquals(Math.log(4), lse[0], 1e-6, "log(e^0 + e^log 3)");
        assertEquals(0.25 * 1 + 0.75 * 3, o[0], 1e-6);
        assertEquals(0.25 * 2 + 0.75 * 4, o[1], 1e-6);
        assertEquals(inf, lse[1], "a row empty in every part stays empty");
        assertArrayEquals(new float[] {0, 0}, new float[] {o[2], o[3]});
        assertEquals(1f, lse[2], "an empty part weighs nothing");
        assertArrayEquals(new float[] {7, 9}, new float[] {o[4], o[5]});
        for (float x : o) assertTrue(Float.isFinite(x));
    }

    @Example
    void sumsAdd() {
        Partial a = new Partial(Tensor.wrap(new float[] {1, 2}, 1, 2), null), b = new Partial(Tensor.wrap(new float[] {-3, 0.5f}, 1, 2), null);
        Tensor out = Tensor.allocate(DType.BFLOAT16, 1, 2);
        Merge.merge(List.of(a, b), out, null);
        assertArrayEquals(new float[] {-2, 2.5f}, out.floats());
    }

    @Example
    void mistakesAreRefusedBeforeAnythingIsWritten() {
        Partial a = new Partial(Tensor.wrap(new float[4], 2, 2), Tensor.wrap(new float[2], 2));
        Partial wide = new Partial(Tensor.wrap(new float[6], 2, 3), Tensor.wrap(new float[2], 2));
        Partial sum = new Partial(Tensor.wrap(new float[4], 2, 2), null);
        assertEquals("merge: expected at least one partial, got none", assertThrows(ShapeException.class, () -> Merge.merge(List.of())).getMessage());
        assertEquals("merge: partial 1 has out [2, 3]; expected [2, 2] as partial 0", assertThrows(ShapeException.class, () -> Merge.merge(List.of(a, wide))).getMessage());
        assertEquals("merge: partial 1 has no LSE and partial 0 has one; expected all softmax partials (with LSE) or all sums (without)",
                assertThrows(ShapeException.class, () -> Merge.merge(List.of(a, sum))).getMessage());
        assertEquals("partial lse: expected shape [2] (out [2, 2] without its last dimension), got [3]",
                assertThrows(ShapeException.class, () -> new Partial(Tensor.wrap(new float[4], 2, 2), Tensor.wrap(new float[3], 3))).getMessage());
        float[] untouched = {9, 9, 9, 9};
        assertEquals("merge lse: missing; the partials have an LSE, expected a float32 tensor [2]",
                assertThrows(ShapeException.class, () -> Merge.merge(List.of(a), Tensor.wrap(untouched, 2, 2), null)).getMessage());
        assertArrayEquals(new float[] {9, 9, 9, 9}, untouched);
    }

    /** Rows with LSE in [-5, 5] or −∞ (one in five), outputs in [-1, 1) (0 where empty). */
    private static Partial random(Random random, int rows, int width, boolean softmax) {
        float[] o = new float[rows * width], lse = new float[rows];
        for (int r = 0; r < rows; r++) {
            boolean empty = random.nextInt(5) == 0;
            lse[r] = empty ? Float.NEGATIVE_INFINITY : random.nextFloat() * 10 - 5;
            for (int c = 0; c < width; c++) o[r * width + c] = empty ? 0 : random.nextFloat() * 2 - 1;
        }
        return new Partial(Tensor.wrap(o, rows, width), softmax ? Tensor.wrap(lse, rows) : null);
    }

    private static void close(Partial expected, Partial actual) {
        float[] eo = expected.out().floats(), ao = actual.out().floats(), el = expected.lse().floats(), al = actual.lse().floats();
        for (int i = 0; i < eo.length; i++) assertEquals(eo[i], ao[i], 1e-6, "out[" + i + "]");
        for (int i = 0; i < el.length; i++) {
            if (el[i] == Float.NEGATIVE_INFINITY) assertEquals(el[i], al[i], "lse[" + i + "] empty");
            else assertEquals(el[i], al[i], 1e-6 * Math.max(1, Math.abs(el[i])), "lse[" + i + "]");
        }
    }
}

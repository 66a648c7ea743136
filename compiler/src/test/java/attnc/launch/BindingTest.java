package attnc.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Pattern;
import attnc.tensor.Tensor;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** A launch that does not fit its pattern is refused before anything runs, with a message naming what was expected and what came. */
class BindingTest {
    private final Random random = new Random(3);
    private final Pattern document;
    private final Pattern window;

    BindingTest() throws CompileException {
        document = Frontend.compile("document.attn", "input doc: int32[B, Nkv]\nmask: doc[b, q] == doc[b, kv]");
        window = Frontend.compile("window.attn", "param window: int\nparam soft: float = 1.0\nmask: q - kv < window\nscore: s * soft");
    }

    @Test
    void bindsSizesOffsetAndParams() {
        Binding binding = Binding.of(window, problem(2, 4, 2, 3, 5, Map.of(), Map.of("window", new Expr.IntLit(2))));
        Map<String, Integer> expected = Map.of("B", 2, "H", 4, "Hkv", 2, "Nq", 3, "Nkv", 5, "D", 4, "Dv", 4);
        expected.forEach((size, value) -> assertEquals(value, binding.sizes().get(size), size));
        assertEquals(2, binding.queryOffset());
        assertEquals(Map.of("window", new Expr.IntLit(2), "soft", new Expr.FloatLit(1.0)), binding.params());
    }

    @Test
    void symbolicSizesAreBoundFromInputs() throws CompileException {
        Pattern topk = Frontend.compile("topk.attn", "input blocks: int32[B, H, Nq, K]\nmask: kv / 4 in blocks[b, h, q % Nq]");
        Map<String, Tensor> inputs = Map.of("blocks", ints(new int[] {1, 2, 3, 6}));
        assertEquals(6, Binding.of(topk, problem(1, 2, 2, 3, 8, inputs, Map.of())).size("K"));
    }

    @Test
    void wrongKShape() {
        Problem p = new Problem(floats(new int[] {1, 2, 3, 4}), floats(new int[] {1, 2, 5, 8}), floats(new int[] {1, 2, 5, 4}), Map.of());
        assertEquals("k: expected shape [1, 2, 5, 4] [B, Hkv, Nkv, D] to match q [1, 2, 3, 4], got [1, 2, 5, 8]", refused(window, p));
    }

    @Test
    void wrongRankOfQ() {
        Problem p = new Problem(floats(new int[] {2, 3, 4}), floats(new int[] {1, 2, 5, 4}), floats(new int[] {1, 2, 5, 4}), Map.of());
        assertEquals("q: expected rank 4 [B, H, Nq, D], got shape [2, 3, 4]", refused(window, p));
    }

    @Test
    void headsNotAMultipleOfKvHeads() {
        assertEquals("heads: H = 3 must be a multiple of Hkv = 2 (GQA/MQA)", refused(window, problem(1, 3, 2, 3, 5, Map.of(), Map.of("window", new Expr.IntLit(2)))));
    }

    @Test
    void missingInput() {
        assertEquals("input 'doc' is missing; expected int32[B, Nkv]", refused(document, problem(2, 2, 1, 3, 5, Map.of(), Map.of())));
    }

    @Test
    void wrongInputShape() {
        Map<String, Tensor> inputs = Map.of("doc", ints(new int[] {2, 4}));
        assertEquals("input 'doc': expected shape [2, 5] [B, Nkv], got [2, 4]", refused(document, problem(2, 2, 1, 3, 5, inputs, Map.of())));
    }

    @Test
    void wrongInputRankAndDtype() {
        assertEquals("input 'doc': expected rank 2 [B, Nkv], got shape [10]",
                refused(document, problem(2, 2, 1, 3, 5, Map.of("doc", ints(new int[] {10})), Map.of())));
        assertEquals("input 'doc': expected dtype int32, got float32",
                refused(document, problem(2, 2, 1, 3, 5, Map.of("doc", floats(new int[] {2, 5})), Map.of())));
    }

    @Test
    void unknownInput() {
        Map<String, Tensor> inputs = Map.of("doc", ints(new int[] {2, 5}), "docs", ints(new int[] {2, 5}));
        assertEquals("unknown input 'docs'; the pattern declares doc", refused(document, problem(2, 2, 1, 3, 5, inputs, Map.of())));
    }

    @Test
    void unknownParam() {
        Map<String, Expr> params = Map.of("window", new Expr.IntLit(2), "windw", new Expr.IntLit(3));
        assertEquals("unknown param 'windw'; the pattern declares window, soft", refused(window, problem(1, 2, 2, 3, 5, Map.of(), params)));
    }

    @Test
    void missingParamValue() {
        assertEquals("param 'window' has no default; expected a value (int)", refused(window, problem(1, 2, 2, 3, 5, Map.of(), Map.of())));
    }

    @Test
    void paramOfTheWrongType() {
        Map<String, Expr> params = Map.of("window", new Expr.FloatLit(2.5));
        assertEquals("param 'window': expected int, got float 2.5", refused(window, problem(1, 2, 2, 3, 5, Map.of(), params)));
    }

    @Test
    void anIntValueForAFloatParamIsConverted() {
        Map<String, Expr> params = Map.of("window", new Expr.IntLit(2), "soft", new Expr.IntLit(3));
        assertEquals(new Expr.FloatLit(3.0), Binding.of(window, problem(1, 2, 2, 3, 5, Map.of(), params)).params().get("soft"));
    }

    @Test
    void paramValuesParseFromText() {
        assertEquals(new Expr.BoolLit(true), Binding.parseValue("true"));
        assertEquals(new Expr.IntLit(-12), Binding.parseValue(" -12 "));
        assertEquals(new Expr.FloatLit(0.25), Binding.parseValue("0.25"));
        ShapeException e = assertThrows(ShapeException.class, () -> Binding.parseValue("1e999"));
        assertEquals("cannot read param value '1e999'; expected true, false, an integer or a number", e.getMessage());
    }

    @Test
    void queryPositionsMustFitInInt32() {
        Problem p = problem(1, 2, 2, 3, 5, Map.of(), Map.of("window", new Expr.IntLit(2)));
        Problem far = new Problem(p.q(), p.k(), p.v(), p.inputs(), p.params(), Integer.MAX_VALUE - 2);
        assertEquals("query positions Q0 .. Q0 + Nq - 1 = 2147483645 .. 2147483647 do not fit in int32; expected Q0 >= 0 and Q0 + Nq <= 2147483647",
                refused(window, far));
        Problem last = new Problem(p.q(), p.k(), p.v(), p.inputs(), p.params(), Integer.MAX_VALUE - 3);
        assertEquals(Integer.MAX_VALUE - 3, Binding.of(window, last).queryOffset(), "the last query at 2^31 - 1 still fits");
        assertThrows(ShapeException.class, () -> new Binding(Map.of("Nq", 2), Integer.MAX_VALUE, Map.of()), "every binding, not only Binding.of");
    }

    @Test
    void inputDimensionsThatOverflowAreNamed() throws CompileException {
        Pattern blocks = Frontend.compile("blocks.attn", "input sel: int32[B, K, K * 1073741824]\nmask: q >= kv");
        Map<String, Tensor> inputs = Map.of("sel", ints(new int[] {1, 2, 0}));
        assertEquals("input 'sel': dimension K * 1073741824 does not fit in int32 at these sizes (integer overflow: 2 * 1073741824 = 2147483648 does not fit in 32 bits)",
                refused(blocks, problem(1, 2, 2, 3, 5, inputs, Map.of())));
    }

    private static String refused(Pattern pattern, Problem problem) {
        return assertThrows(ShapeException.class, () -> Binding.of(pattern, problem)).getMessage();
    }

    private Problem problem(int batch, int heads, int kvHeads, int nq, int nkv, Map<String, Tensor> inputs, Map<String, Expr> params) {
        return new Problem(floats(new int[] {batch, heads, nq, 4}), floats(new int[] {batch, kvHeads, nkv, 4}),
                floats(new int[] {batch, kvHeads, nkv, 4}), inputs, params, Problem.BOTTOM_RIGHT);
    }

    private Tensor floats(int[] shape) {
        return Tensor.random(DType.FLOAT32, shape, random);
    }

    private static Tensor ints(int[] shape) {
        return Tensor.ofInts(DType.INT32, shape, new int[Math.toIntExact(Tensor.elementCount(shape))]);
    }
}

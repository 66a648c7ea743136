package attnc.pass;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.gen.Agreement;
import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Sections;
import attnc.ir.BinaryOp;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import attnc.ir.Printer;
import attnc.ir.Type;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class ShareCommonSubexpressionsTest {
    private static final Expr Q = new Expr.IndexRef(Index.Q);
    private static final Expr KV = new Expr.IndexRef(Index.KV);
    private static final Expr DISTANCE = new Expr.Binary(BinaryOp.SUB, Q, KV);

    @Example
    void aRepeatedSubtreeIsBoundOnce() {
        // (q - kv) * (q - kv) + (q - kv)
        Expr e = new Expr.Binary(BinaryOp.ADD, new Expr.Binary(BinaryOp.MUL, DISTANCE, DISTANCE), DISTANCE);
        Expr local = new Expr.LocalRef("_cse0", Type.INT);
        Expr expected = new Expr.Let("_cse0", DISTANCE, new Expr.Binary(BinaryOp.ADD, new Expr.Binary(BinaryOp.MUL, local, local), local));
        assertEquals(expected, ShareCommonSubexpressions.share(e));
    }

    @Example
    void aLargerRepeatedTreeIsBoundWholeAndItsPartsNotAgain() {
        // (q + 1) * kv < (q + 1) * kv + 1: q + 1 repeats only inside the repeated product.
        Expr product = new Expr.Binary(BinaryOp.MUL, new Expr.Binary(BinaryOp.ADD, Q, new Expr.IntLit(1)), KV);
        Expr e = new Expr.Binary(BinaryOp.LT, product, new Expr.Binary(BinaryOp.ADD, product, new Expr.IntLit(1)));
        Expr local = new Expr.LocalRef("_cse0", Type.INT);
        assertEquals(new Expr.Let("_cse0", product, new Expr.Binary(BinaryOp.LT, local, new Expr.Binary(BinaryOp.ADD, local, new Expr.IntLit(1)))),
                ShareCommonSubexpressions.share(e));
    }

    @Example
    void repeatsInsideASharedTreeAreSharedInsideIt() {
        // (q - kv) * (q - kv) twice: the product is bound, and q - kv within it.
        Expr square = new Expr.Binary(BinaryOp.MUL, DISTANCE, DISTANCE);
        Expr e = new Expr.Binary(BinaryOp.LT, square, new Expr.Binary(BinaryOp.ADD, square, new Expr.IntLit(1)));
        Expr outer = new Expr.LocalRef("_cse0", Type.INT), inner = new Expr.LocalRef("_cse1", Type.INT);
        Expr expected = new Expr.Let("_cse1", DISTANCE, new Expr.Let("_cse0", new Expr.Binary(BinaryOp.MUL, inner, inner),
                new Expr.Binary(BinaryOp.LT, outer, new Expr.Binary(BinaryOp.ADD, outer, new Expr.IntLit(1)))));
        assertEquals(expected, ShareCommonSubexpressions.share(e));
    }

    @Example
    void nothingRepeatedIsLeftAlone() {
        Expr e = new Expr.Binary(BinaryOp.AND, new Expr.Binary(BinaryOp.GE, Q, KV), new Expr.Binary(BinaryOp.LT, DISTANCE, new Expr.IntLit(8)));
        assertEquals(e, ShareCommonSubexpressions.share(e));
    }

    @Example
    void aUserLetNamedLikeTheSharedOnesKeepsItsMeaning() throws attnc.front.CompileException {
        Expr mask = attnc.front.Frontend.compile("clash.attn", "mask: (let _cse0 = 5; (q - kv) * (q - kv) < _cse0)").mask();
        Expr shared = ShareCommonSubexpressions.share(mask);
        var evaluator = new attnc.gen.ScalarEvaluator(Map.of(), Map.of(), Map.of());
        for (int q = 0; q < 8; q++) {
            for (int kv = 0; kv < 8; kv++) {
                var at = new attnc.gen.Point(0, 0, q, kv, 0, 0, 0);
                assertEquals(evaluator.eval(mask, at), evaluator.eval(shared, at), () -> Printer.expr(shared));
            }
        }
    }

    @Example
    void loadsAreNeverHoisted() {
        // doc[b, q] == doc[b, kv] guarded twice: hoisting a load out of a ?: could read where the guard forbids.
        Expr docQ = new Expr.Load("doc", DType.INT32, List.of(new Expr.IndexRef(Index.B), Q));
        Expr e = new Expr.Conditional(new Expr.Binary(BinaryOp.LT, Q, new Expr.SizeRef("Nkv")),
                new Expr.Binary(BinaryOp.ADD, docQ, docQ), new Expr.IntLit(0));
        assertEquals(e, ShareCommonSubexpressions.share(e));
    }

    @Property(tries = 400)
    void sharingKeepsValues(@ForAll("launches") Launch launch) {
        Agreement.rewriteKeepsValues(launch, ShareCommonSubexpressions::share, 20, 4);
    }

    /** After sharing, no shareable subtree occurs twice, and no binding the pass made holds a load. */
    @Property(tries = 400)
    void everyRepeatedSubtreeIsBoundOnceAndNoLoadIsHoisted(@ForAll("launches") Launch launch) {
        for (Expr e : Sections.expressions(launch.pattern())) {
            Expr shared = ShareCommonSubexpressions.share(e);
            Map<Expr, Integer> counts = new HashMap<>();
            count(shared, counts);
            counts.forEach((subtree, n) -> assertFalse(n > 1 && shareable(subtree),
                    () -> "still repeated " + n + " times: " + Printer.expr(subtree) + "\n in " + Printer.expr(shared)));
            Expr body = shared;
            while (body instanceof Expr.Let let && let.name().startsWith("_cse")) {
                assertFalse(readsInputs(let.value()), () -> "a load was hoisted: " + Printer.expr(let.value()));
                body = let.body();
            }
            assertTrue(ExprTree.size(shared) <= ExprTree.size(e) + 2 * countCseLets(shared), "sharing grew the expression");
        }
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(5);
    }

    private static boolean readsInputs(Expr e) {
        return ExprTree.any(e, x -> x instanceof Expr.Load || x instanceof Expr.Member);
    }

    private static int countCseLets(Expr e) {
        int n = e instanceof Expr.Let let && let.name().startsWith("_cse") ? 1 : 0;
        for (Expr child : ExprTree.children(e)) n += countCseLets(child);
        return n;
    }

    /** What the pass may share: an operation over no loads, no locals and no lets. */
    private static boolean shareable(Expr e) {
        return !ExprTree.children(e).isEmpty() && !ExprTree.any(e, x -> x instanceof Expr.Load || x instanceof Expr.Member
                || x instanceof Expr.LocalRef || x instanceof Expr.Let);
    }

    private static void count(Expr e, Map<Expr, Integer> counts) {
        counts.merge(e, 1, Integer::sum);
        for (Expr child : ExprTree.children(e)) count(child, counts);
    }
}

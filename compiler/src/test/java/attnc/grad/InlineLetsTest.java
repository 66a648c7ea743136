package attnc.grad;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.gen.Agreement;
import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Sections;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Printer;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class InlineLetsTest {

    @Property(tries = 300)
    void inliningKeepsEveryValueAndLeavesNoLet(@ForAll("launches") Launch launch) {
        Agreement.rewriteKeepsValues(launch, InlineLets::inline, 8, 17);
        for (Expr e : Sections.expressions(launch.pattern())) {
            assertFalse(ExprTree.any(InlineLets.inline(e), x -> x instanceof Expr.Let || x instanceof Expr.LocalRef));
        }
    }

    @Example
    void anInnerLetShadowsOnlyInItsBody() throws CompileException {
        Expr score = Frontend.compile("shadow", "mask: true\nscore: (let x = s; (let x = x * 2.0; x) + x)").score();
        assertEquals("s * 2.0 + s", Printer.expr(InlineLets.inline(score)));
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }
}

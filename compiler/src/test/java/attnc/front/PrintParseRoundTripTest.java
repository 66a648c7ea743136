package attnc.front;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.gen.PatternGenerator;
import attnc.gen.Patterns;
import attnc.gen.Sections;
import attnc.ir.BinaryOp;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Assume;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Random checked IR, printed, parses back to the same IR. */
class PrintParseRoundTripTest {

    @Property(tries = 1500)
    void printedPatternParsesBackToItself(@ForAll("patterns") Pattern pattern) {
        String text = Printer.pattern(pattern);
        Pattern parsed;
        try {
            parsed = Frontend.compile(PatternGenerator.NAME + ".attn", text);
        } catch (CompileException e) {
            throw new AssertionError("printed pattern does not compile:\n" + text + "\n" + e.getMessage());
        }
        assertEquals(pattern, parsed, () -> "round trip changed the pattern:\n" + text + "\nparsed back as:\n" + Printer.pattern(parsed));
    }

    @Property(tries = 300)
    void tamePatternParsesBackToItself(@ForAll("tamePatterns") Pattern pattern) {
        printedPatternParsesBackToItself(pattern);
    }

    /** What `attnc explain` shows, the IR after the passes, is also text that parses back to that IR. */
    @Property(tries = 1000)
    void optimisedPatternParsesBackToItself(@ForAll("patterns") Pattern pattern) {
        Pattern optimised = attnc.pass.Passes.optimize(pattern, java.util.Map.of());
        // Folding may leave a division by a divisor that folds to zero (s / (1.0 - 1.0) is s / 0.0, q / (0 / 7)
        // is q / 0): meaningful IR (±inf or NaN; the integer rule for x / 0) that the checker refuses as
        // text, a fold that divides by zero being a compile error. That case cannot print back.
        Assume.that(Sections.expressions(optimised).stream().noneMatch(PrintParseRoundTripTest::dividesByZero));
        printedPatternParsesBackToItself(optimised);
    }

    private static boolean dividesByZero(Expr e) {
        return ExprTree.any(e, x -> x instanceof Expr.Binary(BinaryOp op, Expr l, Expr r) && (op == BinaryOp.DIV || op == BinaryOp.MOD)
                && switch (attnc.pass.FoldConstants.fold(r, java.util.Map.of())) {
                    case Expr.IntLit(int v) -> v == 0;
                    case Expr.FloatLit(double v) -> v == 0.0;
                    default -> false;
                });
    }

    @Provide
    Arbitrary<Pattern> tamePatterns() {
        return Patterns.tameLaunches(5).map(attnc.gen.Launch::pattern);
    }

    @Provide
    Arbitrary<Pattern> patterns() {
        return Patterns.patterns(5);
    }
}

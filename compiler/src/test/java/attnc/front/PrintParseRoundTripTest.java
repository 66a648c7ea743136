package attnc.front;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.gen.PatternGenerator;
import attnc.gen.Patterns;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Random checked IR, printed, parses back to the same IR. */
class PrintParseRoundTripTest {

    @Property(tries = 1500)
    void printedPatternParsesBackToItself(@ForAll("patterns") Pattern pattern) throws CompileException {
        String text = Printer.pattern(pattern);
        Pattern parsed;
        try {
            parsed = Frontend.compile(PatternGenerator.NAME + ".attn", text);
        } catch (CompileException e) {
            throw new AssertionError("printed pattern does not compile:\n" + text + "\n" + e.getMessage());
        }
        assertEquals(pattern, parsed, () -> "round trip changed the pattern:\n" + text + "\nparsed back as:\n" + Printer.pattern(parsed));
    }

    @Provide
    Arbitrary<Pattern> patterns() {
        return Patterns.patterns(5);
    }
}

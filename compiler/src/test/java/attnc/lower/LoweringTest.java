package attnc.lower;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import attnc.gen.Launch;
import attnc.gen.Patterns;
import attnc.gen.Point;
import attnc.gen.RandomProblems;
import attnc.gen.ScalarEvaluator;
import attnc.gen.Sections;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Printer;
import attnc.launch.Binding;
import attnc.pass.Passes;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** A lowered program computes what its expression computes, and its dependences are sound. */
class LoweringTest {

    @Property(tries = 400)
    void programEqualsExpression(@ForAll("launches") Launch launch) {
        check(launch, launch.pattern());
    }

    /** Backends lower optimised patterns: lets from sharing, folded literals. */
    @Property(tries = 200)
    void programOfOptimisedPatternEqualsExpression(@ForAll("launches") Launch launch) {
        check(launch, Passes.optimize(launch.pattern(), Map.of()));
    }

    private static void check(Launch launch, attnc.ir.Pattern pattern) {
        Binding binding = Binding.of(pattern, launch.problem());
        ScalarEvaluator evaluator = ScalarEvaluator.of(binding, launch.problem().inputs());
        ProgramInterpreter interpreter = new ProgramInterpreter(binding, launch.problem().inputs());
        Random random = new Random(5);
        for (Expr e : Sections.expressions(pattern)) {
            Program program = Lowering.lower(pattern, e);
            wellFormed(program);
            for (int i = 0; i < 10; i++) {
                Point at = RandomProblems.point(binding, random);
                Object[] registers = interpreter.registers(program, at);
                assertEquals(evaluator.eval(e, at), registers[program.result()], () -> "at " + at + ": " + Printer.expr(e));
                independent(program, registers, interpreter, at, RandomProblems.point(binding, random), e);
            }
        }
    }

    private static void wellFormed(Program program) {
        assertTrue(program.result() >= 0 && program.result() < program.instrs().size());
        for (int i = 0; i < program.instrs().size(); i++) {
            for (int read : program.instrs().get(i).reads()) assertTrue(read < i, "register " + i + " reads a later one, " + read);
        }
    }

    /** A register that does not depend on an index variable keeps its value when only that variable (and s or o with it) changes. */
    private static void independent(Program program, Object[] registers, ProgramInterpreter interpreter, Point at, Point other, Expr e) {
        for (Index index : Index.values()) {
            Point moved = switch (index) {
                case B -> new Point(other.b(), at.h(), at.q(), at.kv(), at.d(), at.s(), at.o());
                case H -> new Point(at.b(), other.h(), at.q(), at.kv(), at.d(), at.s(), at.o());
                case Q -> new Point(at.b(), at.h(), other.q(), at.kv(), at.d(), at.s(), at.o());
                case KV -> new Point(at.b(), at.h(), at.q(), other.kv(), at.d(), other.s(), at.o());
                case D -> new Point(at.b(), at.h(), at.q(), at.kv(), other.d(), at.s(), other.o());
            };
            Object[] after = interpreter.registers(program, moved);
            for (int r = 0; r < registers.length; r++) {
                if (program.dependsOn(r).contains(index)) continue;
                int register = r;
                assertEquals(registers[r], after[r], () -> "register " + register + " changed with " + index + " but does not depend on it: "
                        + Printer.expr(e));
            }
        }
    }

    @Provide
    Arbitrary<Launch> launches() {
        return Patterns.launches(4);
    }
}

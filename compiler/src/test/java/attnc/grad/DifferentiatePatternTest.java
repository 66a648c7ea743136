package attnc.grad;

import static org.junit.jupiter.api.Assertions.assertEquals;

import attnc.front.CompileException;
import attnc.front.Frontend;
import attnc.ir.Expr;
import attnc.ir.Index;
import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.pass.Passes;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The derivative pass on whole patterns: which load sites it finds in which section, what each
 * gradient element depends on (and so what a kernel sums over), and the text {@code explain} prints.
 */
class DifferentiatePatternTest {

    @Test
    void alibi() throws CompileException {
        Derivatives d = derivatives(example("alibi"));
        assertEquals("""
                d score/d s = 1.0
                d output/d o = 1.0
                d score/d slopes[h] = -float(q - kv)   [sum over b, q, kv]
                """, d.text());
    }

    @Test
    void gatedAttentionDifferentiatesTheOutput() throws CompileException {
        Derivatives d = derivatives(example("gated"));
        assertEquals("sigmoid(gate[b, h, q - Q0, d])", Printer.expr(d.outputByO()));
        LoadPartial gate = d.loads().getFirst();
        assertEquals(Section.OUTPUT, gate.section());
        assertEquals(EnumSet.of(Index.B, Index.H, Index.Q, Index.D), gate.dependsOn());
        assertEquals(EnumSet.noneOf(Index.class), gate.summedOver());
        assertEquals(EnumSet.of(Index.D), derivatives(example("headwise_gate")).loads().getFirst().summedOver());
    }

    @Test
    void lowRankFactorsReducePerRowAndPerColumn() throws CompileException {
        List<LoadPartial> loads = derivatives(example("low_rank_bias")).loads();
        assertEquals(8, loads.size());
        for (LoadPartial p : loads) {
            assertEquals(Section.SCORE, p.section());
            assertEquals(p.input().equals("q_factor") ? EnumSet.of(Index.KV) : EnumSet.of(Index.Q), p.summedOver(), p.toString());
            assertEquals(p.input().equals("q_factor") ? "k_factor" : "q_factor", ((Expr.Load) p.partial()).input());
        }
    }

    @Test
    void sinkAndSigmoidBiasAreTheNormSection() throws CompileException {
        assertEquals("d norm/d sinks[h] = 1.0   [sum over b, q]", derivatives(example("softmax_sink")).loads().getFirst().toString());
        Pattern sigmoid = Frontend.compile("sig", "input beta: float32[H, Nq]\nmask: true\nnorm: sigmoid(bias = 2.0 * beta[h, q - Q0])");
        assertEquals("d norm/d beta[h, q - Q0] = 2.0   [sum over b]", derivatives(sigmoid).loads().getFirst().toString());
    }

    @Test
    void aTemperatureInputIsTheScaleSection() throws CompileException {
        Pattern p = Frontend.compile("temp", "input temp: float32[H]\nmask: true\nscale: 1.0 / (temp[h] * sqrt(float(D)))");
        LoadPartial temp = derivatives(p).loads().getFirst();
        assertEquals(Section.SCALE, temp.section());
        assertEquals(EnumSet.of(Index.B, Index.Q), temp.summedOver());
    }

    /** Loads in the mask, in indices, in conditions or under floor/int() carry no derivative and are no sites. */
    @Test
    void onlyLoadsOnFloatPathsAreSites() throws CompileException {
        Pattern p = Frontend.compile("sites", """
                input a: float32[H]
                input e: float32[H]
                input c: float32[4]
                input w: float32[H]
                mask: w[h] > 0.0
                score: s * a[h] + floor(e[h]) + c[int(e[h]) % 4] + (a[h] > 0.5 ? s : 2.0 * s) + float(int(w[h]))
                """);
        Derivatives d = derivatives(p);
        assertEquals(List.of("a[h]", "c[int(e[h]) % 4]"), d.loads().stream().map(l -> Printer.expr(l.load())).toList());
        assertEquals("a[h] + (a[h] > 0.5 ? 1.0 : 2.0)", Printer.expr(d.scoreByS()));
        assertEquals(EnumSet.of(Index.B, Index.Q, Index.KV), d.loads().get(1).summedOver(), "e[h] depends on h only");
    }

    /** Lets, the optimiser's shared subexpressions among them, are inlined first: sites are closed expressions. */
    @Test
    void sitesInsideLetsAreClosed() throws CompileException {
        Pattern p = Frontend.compile("lets", "input t: float32[H, Nkv]\nmask: true\nscore: (let j = kv % 3; (let x = t[h, j]; x * x + s))");
        LoadPartial site = derivatives(p).loads().getFirst();
        assertEquals("t[h, kv % 3]", Printer.expr(site.load()));
        assertEquals("(let _cse0 = kv % 3; t[h, _cse0] + t[h, _cse0])", Printer.expr(site.partial()));
        assertEquals(EnumSet.of(Index.B, Index.Q), site.summedOver());
    }

    private static Derivatives derivatives(Pattern p) {
        return DifferentiatePattern.differentiate(Passes.optimize(p, Map.of()));
    }

    private static Pattern example(String name) throws CompileException {
        return Frontend.compile(Path.of("..", "examples", name + ".attn"));
    }
}

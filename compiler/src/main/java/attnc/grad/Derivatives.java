package attnc.grad;

import attnc.ir.Expr;
import attnc.ir.Printer;
import java.util.List;

/**
 * A pattern's derivatives, built by {@link DifferentiatePattern}: d score/d s (for dq and dk),
 * d output/d o (what dOut becomes before the norm's rule), and one {@link LoadPartial} per float
 * load site of the score, scale, norm value and output, from which every input gradient is
 * accumulated. Every expression is an ordinary IR expression over its section's environment,
 * simplified and with common subexpressions shared, ready to be lowered like the forward's.
 */
public record Derivatives(Expr scoreByS, Expr outputByO, List<LoadPartial> loads) {

    public Derivatives {
        loads = List.copyOf(loads);
    }

    public List<LoadPartial> loads(Section section) {
        return loads.stream().filter(l -> l.section() == section).toList();
    }

    /** One line per derivative, as {@code attnc explain} prints them. */
    public String text() {
        StringBuilder out = new StringBuilder();
        out.append("d score/d s = ").append(Printer.expr(scoreByS)).append('\n');
        out.append("d output/d o = ").append(Printer.expr(outputByO)).append('\n');
        for (LoadPartial l : loads) out.append(l).append('\n');
        return out.toString();
    }

    @Override
    public String toString() {
        return text();
    }
}

package attnc.gen;

import attnc.ir.Expr;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import java.util.ArrayList;
import java.util.List;

/** Every expression of a pattern, for tests that check one expression at a time. */
public final class Sections {
    private Sections() {}

    public static List<Expr> expressions(Pattern p) {
        List<Expr> all = new ArrayList<>(List.of(p.mask(), p.score(), p.scale(), p.output()));
        p.select().ifPresent(all::add);
        switch (p.norm()) {
            case Norm.Softmax(var sink) -> sink.ifPresent(all::add);
            case Norm.Sigmoid(Expr bias) -> all.add(bias);
            case Norm.Identity i -> { }
        }
        return all;
    }
}

package attnc.grad;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import attnc.ir.Printer;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One float load site of a section and the partial derivative of the section's value with
 * respect to it. A backward kernel evaluates {@code partial} as an ordinary program over the
 * section's indices (with {@code s} or {@code o} bound as in the forward), multiplies it by the
 * section's upstream gradient, and adds the product into the input's gradient at the element the
 * load reads ({@code load}'s indices, closed expressions over the same environment).
 */
public record LoadPartial(Section section, Expr.Load load, Expr partial) {

    public String input() { return load.input(); }

    /**
     * The iteration indices the gradient element depends on: those the load's indices read,
     * directly or through {@code s} (every index of a score element) or {@code o}.
     */
    public Set<Index> dependsOn() {
        Set<Index> deps = EnumSet.noneOf(Index.class);
        for (Expr index : load.indices()) {
            ExprTree.any(index, x -> {
                switch (x) {
                    case Expr.IndexRef(Index i) -> deps.add(i);
                    case Expr.ScoreRef s -> deps.addAll(Section.SCORE.over());
                    case Expr.OutputRef o -> deps.addAll(Section.OUTPUT.over());
                    default -> { }
                }
                return false;
            });
        }
        deps.retainAll(section.over());
        return deps;
    }

    /**
     * The section's indices the gradient element does not depend on: every element of the
     * section along them adds into the same gradient element, so a kernel sums over them first
     * (kv only: per row, q only: per column, both: per head) and adds once. Empty does not mean
     * that elements never share a gradient element (a bucket table maps many (q, kv) to one
     * bucket): gradients are always added, never stored.
     */
    public Set<Index> summedOver() {
        Set<Index> summed = section.over();
        summed.removeAll(dependsOn());
        return summed;
    }

    @Override
    public String toString() {
        Set<Index> summed = summedOver();
        String reduce = summed.isEmpty() ? "per element" : "sum over " + summed.stream().map(Index::spelling).collect(Collectors.joining(", "));
        return "d " + section.spelling() + "/d " + Printer.expr(load) + " = " + Printer.expr(partial) + "   [" + reduce + "]";
    }
}

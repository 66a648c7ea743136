package attnc.pass;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Param;
import attnc.ir.Pattern;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The pass pipeline every backend receives its pattern from. */
public final class Passes {
    private Passes() {}

    /**
     * Folds the params given at compile time (they leave the pattern's param list), simplifies,
     * and shares common subexpressions. A fold that overflows int32 or divides by zero (a param
     * fixed to 0 under a division) is a {@link FoldConstants.FoldException}; compiling from source
     * with the values ({@code Frontend.compile(file, params)}) reports it at its line and column.
     */
    public static Pattern optimize(Pattern pattern, Map<String, Expr> compileTimeParams) {
        List<Param> remaining = new ArrayList<>();
        for (Param p : pattern.params()) if (!compileTimeParams.containsKey(p.name())) remaining.add(p);
        Pattern folded = ExprTree.mapPattern(pattern.withParams(remaining),
                e -> Simplify.simplify(FoldConstants.foldChecked(e, compileTimeParams)));
        return ExprTree.mapPattern(folded, ShareCommonSubexpressions::share);
    }
}

package attnc.gen;

import attnc.ir.Pattern;
import attnc.ir.Printer;
import attnc.launch.Problem;
import java.util.Arrays;

/** A pattern and one launch of it; prints as the pattern's text and the shapes, so a failing case reads well. */
public record Launch(Pattern pattern, Problem problem) {
    @Override
    public String toString() {
        return Printer.pattern(pattern) + "-- q " + Arrays.toString(problem.q().shape()) + ", k " + Arrays.toString(problem.k().shape())
                + ", v " + Arrays.toString(problem.v().shape()) + ", params " + problem.params() + ", query offset " + problem.queryOffset();
    }
}

package attnc.launch;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Norm;
import attnc.ir.Pattern;
import attnc.ir.Type;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * What a gradient is taken with respect to: q, k, v, or one float input of the pattern. Inputs
 * have a namespace of their own, so an input named {@code k} is not the key tensor.
 */
public sealed interface Wrt {
    Wrt Q = Operand.Q;
    Wrt K = Operand.K;
    Wrt V = Operand.V;

    /** How the gradient is named in reports: {@code dq}, {@code dk}, {@code dv}, or the input's own name. */
    String label();

    /** One of the attention operands. */
    enum Operand implements Wrt {
        Q, K, V;

        @Override public String label() { return "d" + name().toLowerCase(java.util.Locale.ROOT); }
    }

    /** A float input of the pattern, by name. */
    record Input(String name) implements Wrt {
        @Override public String label() { return name; }
    }

    static Wrt input(String name) {
        return new Input(name);
    }

    /**
     * Every gradient the pattern has, in order: dq, dk, dv, then each float input the pattern
     * reads outside its mask and selection (in the score, scale, norm or output), in declaration
     * order. Masks and selections are piecewise constant in their inputs, int and bool inputs
     * are not continuous and params are constants: none of them gets a gradient. An input read
     * there only through {@code floor}, {@code int()} or a comparison gets a gradient of zeros.
     */
    static Set<Wrt> all(Pattern pattern) {
        Set<Wrt> all = new LinkedHashSet<>(List.of(Q, K, V));
        for (String name : differentiableInputs(pattern)) all.add(new Input(name));
        return Collections.unmodifiableSet(all);
    }

    private static List<String> differentiableInputs(Pattern pattern) {
        List<Expr> sections = new ArrayList<>(List.of(pattern.score(), pattern.scale(), pattern.output()));
        switch (pattern.norm()) {
            case Norm.Softmax(var sink) -> sink.ifPresent(sections::add);
            case Norm.Sigmoid(Expr bias) -> sections.add(bias);
            case Norm.Identity none -> { }
        }
        List<String> names = new ArrayList<>();
        for (attnc.ir.Input input : pattern.inputs()) {
            if (input.dtype().loadsAs() != Type.FLOAT) continue;
            boolean read = sections.stream().anyMatch(e -> ExprTree.any(e, x -> x instanceof Expr.Load l && l.input().equals(input.name())));
            if (read) names.add(input.name());
        }
        return names;
    }
}

package attnc.front;

import attnc.grammar.AttnParser;
import attnc.grammar.AttnParser.ExprContext;
import attnc.ir.BinaryOp;
import attnc.ir.Builtin;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Index;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Sizes;
import attnc.ir.Type;
import attnc.ir.UnaryOp;
import attnc.pass.FoldConstants;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.Token;

/**
 * Checks expressions (of sections, param defaults and input shapes) into typed IR: resolves names
 * (locals, index variables, sizes, params, lets across imports), inlines lets and functions,
 * inserts int→float conversions, checks input ranks and index ranges, and reports each error
 * with its position. A null result means an error was reported.
 */
final class ExprChecker {
    static final Set<String> RESERVED = Set.of("b", "h", "q", "kv", "d", "s", "o");

    private final Diagnostics diagnostics;
    private final Set<String> sizes;
    private final Map<AttnParser.ItemContext, Param> params;
    private final Map<AttnParser.ItemContext, Input> inputs;
    private final Set<AttnParser.ItemContext> used;
    private final List<String> expanding = new ArrayList<>();
    /** Values of params fixed at compile time, by name: constants for {@link #checkedFold}. */
    private final Map<String, Expr> fixedParams;
    /** The constant value of each checked node that has one (by identity: equal subtrees may be checked apart). */
    private final Map<Expr, Expr> constants = new java.util.IdentityHashMap<>();

    /** The collections are the checker's own, filled as declarations are checked. */
    ExprChecker(Diagnostics diagnostics, Set<String> sizes, Map<AttnParser.ItemContext, Param> params,
                Map<AttnParser.ItemContext, Input> inputs, Set<AttnParser.ItemContext> used, Map<String, Expr> fixedParams) {
        this.fixedParams = fixedParams;
        this.diagnostics = diagnostics;
        this.sizes = sizes;
        this.params = params;
        this.inputs = inputs;
        this.used = used;
    }

    /** Checks an expression; null means an error was reported. */
    Expr expr(Scope scope, ExprContext e) {
        return switch (e) {
            case AttnParser.ParensContext p -> expr(scope, p.expr());
            case AttnParser.IntLitContext i -> intLiteral(scope, i.INT().getSymbol(), false);
            case AttnParser.FloatLitContext f -> floatLiteral(scope, f.FLOAT().getSymbol(), false);
            case AttnParser.BoolLitContext b -> new Expr.BoolLit(b.getText().equals("true"));
            case AttnParser.NameContext n -> name(scope, n);
            case AttnParser.LetExprContext l -> let(scope, l.NAME().getSymbol(), l.expr(), l.letBody());
            case AttnParser.UnaryContext u -> unary(scope, u);
            case AttnParser.MulLevelContext m -> binary(scope, m, m.op, m.expr(0), m.expr(1));
            case AttnParser.AddLevelContext a -> binary(scope, a, a.op, a.expr(0), a.expr(1));
            case AttnParser.CompareContext c -> binary(scope, c, c.op, c.expr(0), c.expr(1));
            case AttnParser.EqualityContext q -> binary(scope, q, q.op, q.expr(0), q.expr(1));
            case AttnParser.AndContext a -> logic(scope, BinaryOp.AND, a.expr(0), a.expr(1));
            case AttnParser.OrContext o -> logic(scope, BinaryOp.OR, o.expr(0), o.expr(1));
            case AttnParser.ConditionalContext c -> conditional(scope, c);
            case AttnParser.CallContext c -> call(scope, c);
            case AttnParser.LoadContext l -> load(scope, l.NAME().getSymbol(), l.expr(), 0);
            case AttnParser.MemberContext m -> member(scope, m);
            default -> throw new IllegalStateException("unhandled expression " + e.getClass());
        };
    }

    private Expr intLiteral(Scope scope, Token token, boolean negated) {
        try {
            long value = Long.parseLong(token.getText());
            if (negated) value = -value;
            if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) throw new NumberFormatException();
            return new Expr.IntLit((int) value);
        } catch (NumberFormatException ex) {
            diagnostics.report(scope.unit().source, token, "integer " + token.getText() + " does not fit in 32 bits; expected a value within ±2147483647");
            return null;
        }
    }

    private Expr floatLiteral(Scope scope, Token token, boolean negated) {
        double value = Double.parseDouble(token.getText());
        if (!Double.isFinite(value)) {
            diagnostics.report(scope.unit().source, token, "number " + token.getText() + " is out of range; expected a finite value");
            return null;
        }
        return new Expr.FloatLit(negated ? -value : value);
    }

    private Expr let(Scope scope, Token name, ExprContext valueTree, AttnParser.LetBodyContext body) {
        Expr bound = expr(scope, valueTree);
        if (bound == null || isReservedOrKnown(scope, name)) return null;
        Scope inner = scope.with(name.getText(), new Expr.LocalRef(name.getText(), bound.type()));
        Expr result = body.NAME() != null
                ? let(inner, body.NAME().getSymbol(), body.expr(), body.letBody())
                : expr(inner, body.expr());
        return result == null ? null : new Expr.Let(name.getText(), bound, result);
    }

    private boolean isReservedOrKnown(Scope scope, Token name) {
        String text = name.getText();
        if (RESERVED.contains(text) || sizes.contains(text) || Builtin.ofSpelling(text).isPresent() || scope.unit().find(text) != null) {
            diagnostics.report(scope.unit().source, name, "'" + text + "' already names something; expected a new local name");
            return true;
        }
        return false;
    }

    private Expr name(Scope scope, AttnParser.NameContext n) {
        String text = n.NAME().getText();
        Token token = n.NAME().getSymbol();
        Expr local = scope.locals().get(text);
        if (local != null) return local;
        for (Index index : Index.values()) {
            if (!index.spelling().equals(text)) continue;
            if (scope.place() == Place.SHAPE || scope.place() == Place.CONSTANT) return notHere(scope, token, "the index " + text);
            if (index == Index.D && scope.place() != Place.OUTPUT) return notHere(scope, token, "the output channel d");
            // Scale, norm options and output are computed once per row, not per key.
            if (index == Index.KV && scope.place() != Place.MASK && scope.place() != Place.SCORE) return notHere(scope, token, "the key index kv");
            return new Expr.IndexRef(index);
        }
        if (text.equals("s")) {
            return scope.place() == Place.SCORE ? new Expr.ScoreRef() : notHere(scope, token, "the score s");
        }
        if (text.equals("o")) {
            return scope.place() == Place.OUTPUT ? new Expr.OutputRef() : notHere(scope, token, "the output o");
        }
        if (sizes.contains(text)) {
            return scope.place() == Place.CONSTANT ? notHere(scope, token, "the size " + text) : new Expr.SizeRef(text);
        }
        Unit.Found found = scope.unit().find(text);
        if (found == null) {
            List<String> candidates = new ArrayList<>(scope.unit().visibleNames());
            candidates.addAll(scope.locals().keySet());
            candidates.addAll(sizes);
            candidates.addAll(List.of("b", "h", "q", "kv"));
            if (scope.place() == Place.SCORE) candidates.add("s");
            if (scope.place() == Place.OUTPUT) candidates.addAll(List.of("o", "d"));
            diagnostics.report(scope.unit().source, token, "unknown name '" + text + "'" + Suggestions.closest(text, candidates)
                    + (Suggestions.closest(text, candidates).isEmpty() ? "; expected a param, input, let, size or index" : ""));
            return null;
        }
        AttnParser.ItemContext item = found.item();
        if (item.paramDecl() != null) {
            if (scope.place() == Place.CONSTANT || scope.place() == Place.SHAPE) return notHere(scope, token, "the param " + text);
            used.add(item);
            Param p = params.get(item);
            return p == null ? null : new Expr.ParamRef(p.name(), p.type());
        }
        if (item.inputDecl() != null) {
            diagnostics.report(scope.unit().source, token, "input '" + text + "' is a tensor; expected it indexed, like "
                    + text + "[" + String.join(", ", java.util.Collections.nCopies(item.inputDecl().expr().size(), "...")) + "]");
            return null;
        }
        if (item.fnDecl() != null) {
            diagnostics.report(scope.unit().source, token, "'" + text + "' is a function; expected a call, like " + text + "(...)");
            return null;
        }
        return expandLet(scope, token, found);
    }

    private Expr expandLet(Scope scope, Token use, Unit.Found found) {
        String key = found.unit().source.name() + ":" + use.getText();
        if (expanding.contains(key)) {
            diagnostics.report(scope.unit().source, use, "'" + use.getText() + "' is defined in terms of itself; expected a definition without a cycle");
            return null;
        }
        expanding.add(key);
        try {
            return expr(scope.in(found.unit()), found.item().letDecl().expr());
        } finally {
            expanding.removeLast();
        }
    }

    private Expr notHere(Scope scope, Token token, String what) {
        String where = switch (scope.place()) {
            case SHAPE -> "an input's shape";
            case CONSTANT -> "a param's default";
            default -> "the " + scope.place().name().toLowerCase() + " section";
        };
        diagnostics.report(scope.unit().source, token, what + " is not available in " + where
                + "; expected " + (scope.place() == Place.SHAPE ? "sizes and integers" : scope.place() == Place.CONSTANT ? "a constant"
                : "names available here (kv only in mask, select and score; s only in score; o and d only in output)"));
        return null;
    }

    private Expr unary(Scope scope, AttnParser.UnaryContext u) {
        String op = u.op.getText();
        if (op.equals("-") && u.expr() instanceof AttnParser.IntLitContext i) return intLiteral(scope, i.INT().getSymbol(), true);
        if (op.equals("-") && u.expr() instanceof AttnParser.FloatLitContext f) return floatLiteral(scope, f.FLOAT().getSymbol(), true);
        Expr operand = expr(scope, u.expr());
        if (operand == null) return null;
        return switch (op) {
            case "-" -> numeric(scope, u.expr(), operand, "-") ? checkedFold(scope, u, new Expr.Unary(UnaryOp.NEG, operand)) : null;
            case "!" -> expect(scope.unit(), u.expr(), operand, Type.BOOL) == null ? null : new Expr.Unary(UnaryOp.NOT, operand);
            default -> expect(scope.unit(), u.expr(), operand, Type.INT) == null ? null : new Expr.Unary(UnaryOp.BIT_NOT, operand);
        };
    }

    private Expr binary(Scope scope, ParserRuleContext where, Token opToken, ExprContext leftTree, ExprContext rightTree) {
        BinaryOp op = BinaryOp.ofSymbol(opToken.getText()).orElseThrow();
        Expr left = expr(scope, leftTree);
        Expr right = expr(scope, rightTree);
        if (left == null || right == null) return null;
        if ((op == BinaryOp.DIV || op == BinaryOp.MOD) && isZeroLiteral(right)) {
            diagnostics.report(scope.unit().source, rightTree, "division by zero; expected a non-zero divisor");
            return null;
        }
        switch (op.kind()) {
            case INT_ONLY -> {
                String what = "an operand of '" + op.symbol() + "' (ints only)";
                if (expect(scope.unit(), leftTree, left, Type.INT, what) == null || expect(scope.unit(), rightTree, right, Type.INT, what) == null) return null;
                return checkedFold(scope, where, new Expr.Binary(op, left, right));
            }
            case ARITH, COMPARE -> {
                if (!numeric(scope, leftTree, left, op.symbol()) || !numeric(scope, rightTree, right, op.symbol())) return null;
                return checkedFold(scope, where, unified(op, left, right));
            }
            case EQUALITY -> {
                if (left.type() == Type.BOOL || right.type() == Type.BOOL) {
                    if (left.type() != right.type()) {
                        diagnostics.report(scope.unit().source, where, "cannot compare " + left.type() + " with " + right.type()
                                + "; expected operands of the same type");
                        return null;
                    }
                    return new Expr.Binary(op, left, right);
                }
                return checkedFold(scope, where, unified(op, left, right));
            }
            default -> throw new IllegalStateException(op.toString());
        }
    }

    /**
     * {@code node} when folding it is safe, or null after reporting at {@code where}: an int
     * operation whose operands are constants (literals, lets of them, params fixed at compile
     * time) must not overflow int32, and no divisor may be a constant 0, since the kernel would
     * otherwise compute a silently wrapped constant or 0 (the run-time meaning of {@code x / 0}).
     */
    private Expr checkedFold(Scope scope, ParserRuleContext where, Expr node) {
        List<Expr> kids = ExprTree.children(node);
        List<Expr> values = new ArrayList<>(kids.size());
        boolean allConstant = true;
        for (Expr kid : kids) {
            Expr value = constant(kid);
            allConstant &= value != null;
            values.add(value != null ? value : kid);
        }
        boolean zeroDivisor = node instanceof Expr.Binary(BinaryOp op, Expr l, Expr r)
                && (op == BinaryOp.DIV || op == BinaryOp.MOD) && constant(r) instanceof Expr.IntLit(int v) && v == 0;
        if (zeroDivisor) {
            diagnostics.report(scope.unit().source, where, "division by zero: the divisor is 0 here" + fixedNote(((Expr.Binary) node).right())
                    + "; expected a non-zero divisor");
            return null;
        }
        if (!allConstant) return node;
        try {
            Expr value = FoldConstants.foldChecked(ExprTree.withChildren(node, values), Map.of());
            if (value instanceof Expr.IntLit || value instanceof Expr.FloatLit || value instanceof Expr.BoolLit) constants.put(node, value);
            return node;
        } catch (FoldConstants.FoldException e) {
            diagnostics.report(scope.unit().source, where, e.getMessage() + fixedNote(node)
                    + "; expected a result within int32 (write it as a float, or use smaller values)");
            return null;
        }
    }

    /** The constant value of a checked expression, or null. */
    private Expr constant(Expr e) {
        return switch (e) {
            case Expr.IntLit i -> i;
            case Expr.FloatLit f -> f;
            case Expr.BoolLit b -> b;
            case Expr.ParamRef(String name, Type type) when fixedParams.containsKey(name) ->
                    type == Type.FLOAT && fixedParams.get(name) instanceof Expr.IntLit(int v) ? new Expr.FloatLit(v) : fixedParams.get(name);
            default -> constants.get(e);
        };
    }

    /** Names the params fixed at compile time that an expression reads, since the source shows only their names. */
    private String fixedNote(Expr e) {
        List<String> fixed = new ArrayList<>();
        ExprTree.any(e, x -> {
            if (x instanceof Expr.ParamRef(String name, Type t) && fixedParams.containsKey(name)) {
                fixed.add(name + " = " + attnc.ir.Printer.expr(fixedParams.get(name)));
            }
            return false;
        });
        return fixed.isEmpty() ? "" : " (with " + String.join(", ", fixed) + " fixed at compile time)";
    }

    private static boolean isZeroLiteral(Expr e) {
        return e instanceof Expr.IntLit(int i) && i == 0 || e instanceof Expr.FloatLit(double f) && f == 0.0;
    }

    private static Expr unified(BinaryOp op, Expr left, Expr right) {
        if (left.type() == right.type()) return new Expr.Binary(op, left, right);
        return new Expr.Binary(op, toFloat(left), toFloat(right));
    }

    static Expr toFloat(Expr e) {
        if (e.type() == Type.FLOAT) return e;
        return new Expr.Call(Builtin.FLOAT, List.of(e));
    }

    private Expr logic(Scope scope, BinaryOp op, ExprContext leftTree, ExprContext rightTree) {
        String what = "an operand of '" + op.symbol() + "'";
        Expr left = expect(scope.unit(), leftTree, expr(scope, leftTree), Type.BOOL, what);
        Expr right = expect(scope.unit(), rightTree, expr(scope, rightTree), Type.BOOL, what);
        return left == null || right == null ? null : new Expr.Binary(op, left, right);
    }

    private Expr conditional(Scope scope, AttnParser.ConditionalContext c) {
        Expr condition = expect(scope.unit(), c.expr(0), expr(scope, c.expr(0)), Type.BOOL, "the condition of ?:");
        Expr ifTrue = expr(scope, c.expr(1));
        Expr ifFalse = expr(scope, c.expr(2));
        if (condition == null || ifTrue == null || ifFalse == null) return null;
        if (ifTrue.type() == ifFalse.type()) return new Expr.Conditional(condition, ifTrue, ifFalse);
        if (ifTrue.type() != Type.BOOL && ifFalse.type() != Type.BOOL) {
            return new Expr.Conditional(condition, toFloat(ifTrue), toFloat(ifFalse));
        }
        diagnostics.report(scope.unit().source, c, "the branches of ?: have types " + ifTrue.type() + " and " + ifFalse.type()
                + "; expected the same type");
        return null;
    }

    private Expr call(Scope scope, AttnParser.CallContext c) {
        String callee = c.callee.getText();
        Token token = c.callee;
        Optional<Builtin> builtin = Builtin.ofSpelling(callee);
        List<Expr> args = new ArrayList<>();
        boolean ok = true;
        for (ExprContext a : c.expr()) {
            Expr arg = expr(scope, a);
            ok &= arg != null;
            args.add(arg);
        }
        if (builtin.isPresent()) {
            Builtin fn = builtin.get();
            if (args.size() != fn.arity()) {
                diagnostics.report(scope.unit().source, token, callee + " takes " + fn.arity() + " argument" + (fn.arity() == 1 ? "" : "s")
                        + "; expected " + fn.arity() + ", found " + args.size());
                return null;
            }
            return ok ? builtinCall(scope, c, fn, args) : null;
        }
        Unit.Found found = scope.unit().find(callee);
        if (found == null || found.item().fnDecl() == null) {
            List<String> functions = new ArrayList<>();
            for (Builtin b : Builtin.values()) functions.add(b.spelling());
            for (String visible : scope.unit().visibleNames()) {
                Unit.Found f = scope.unit().find(visible);
                if (f != null && f.item().fnDecl() != null) functions.add(visible);
            }
            diagnostics.report(scope.unit().source, token, (found == null ? "unknown function '" : "'" + callee + "' is not a function: '")
                    + callee + "'" + Suggestions.closest(callee, functions)
                    + (Suggestions.closest(callee, functions).isEmpty() ? "; expected a built-in or a declared fn" : ""));
            return null;
        }
        if (!ok) return null;
        return inlineCall(scope, c, found, args);
    }

    private Expr builtinCall(Scope scope, AttnParser.CallContext c, Builtin fn, List<Expr> args) {
        switch (fn) {
            case MIN, MAX -> {
                for (int i = 0; i < 2; i++) if (!numeric(scope, c.expr(i), args.get(i), fn.spelling())) return null;
                Type common = args.get(0).type() == args.get(1).type() ? args.get(0).type() : Type.FLOAT;
                return new Expr.Call(fn, common == Type.FLOAT ? List.of(toFloat(args.get(0)), toFloat(args.get(1))) : args);
            }
            case ABS -> {
                return numeric(scope, c.expr(0), args.getFirst(), "abs") ? checkedFold(scope, c, new Expr.Call(fn, args)) : null;
            }
            case BITLEN -> {
                return expect(scope.unit(), c.expr(0), args.getFirst(), Type.INT) == null ? null : new Expr.Call(fn, args);
            }
            case FLOAT -> {
                return numeric(scope, c.expr(0), args.getFirst(), "float") ? toFloat(args.getFirst()) : null;
            }
            case INT -> {
                if (!numeric(scope, c.expr(0), args.getFirst(), "int")) return null;
                return args.getFirst().type() == Type.INT ? args.getFirst() : checkedFold(scope, c, new Expr.Call(fn, args));
            }
            default -> {
                return numeric(scope, c.expr(0), args.getFirst(), fn.spelling()) ? new Expr.Call(fn, List.of(toFloat(args.getFirst()))) : null;
            }
        }
    }

    private Expr inlineCall(Scope scope, AttnParser.CallContext c, Unit.Found found, List<Expr> args) {
        AttnParser.FnDeclContext fn = found.item().fnDecl();
        String callee = fn.NAME().getText();
        if (args.size() != fn.fnParam().size()) {
            diagnostics.report(scope.unit().source, c.callee, callee + " takes " + fn.fnParam().size()
                    + " arguments; expected " + fn.fnParam().size() + ", found " + args.size());
            return null;
        }
        Scope body = new Scope(found.unit(), scope.place(), Map.of());
        for (int i = 0; i < args.size(); i++) {
            Type declared = Type.ofSpelling(fn.fnParam(i).scalarType().getText());
            Expr arg = coerce(scope.unit(), c.expr(i), args.get(i), declared);
            if (arg == null) return null;
            body = body.with(fn.fnParam(i).NAME().getText(), arg);
        }
        String key = found.unit().source.name() + ":" + callee + "()";
        if (expanding.contains(key)) {
            diagnostics.report(scope.unit().source, c.callee, "'" + callee + "' calls itself; expected a function without recursion");
            return null;
        }
        expanding.add(key);
        try {
            return expr(body, fn.expr());
        } finally {
            expanding.removeLast();
        }
    }

    private Expr load(Scope scope, Token name, List<ExprContext> indexTrees, int missing) {
        Unit.Found found = scope.unit().find(name.getText());
        if (found == null || found.item().inputDecl() == null) {
            List<String> tensors = scope.unit().visibleNames().stream()
                    .filter(n -> scope.unit().find(n).item().inputDecl() != null).toList();
            diagnostics.report(scope.unit().source, name, (found == null ? "unknown input '" : "'" + name.getText() + "' is not an input tensor: '")
                    + name.getText() + "'" + Suggestions.closest(name.getText(), tensors)
                    + (Suggestions.closest(name.getText(), tensors).isEmpty() ? "; expected a declared input" : ""));
            return null;
        }
        if (scope.place() == Place.SHAPE || scope.place() == Place.CONSTANT) return notHere(scope, name, "the input " + name.getText());
        Input input = inputs.get(found.item());
        if (input == null) return null;
        used.add(found.item());
        int rank = input.shape().size();
        if (indexTrees.size() + missing != rank) {
            diagnostics.report(scope.unit().source, name, "input '" + input.name() + "' has rank " + rank + " " + shapeText(input)
                    + "; expected " + (rank - missing) + " ind" + (rank - missing == 1 ? "ex" : "ices") + ", found " + indexTrees.size());
            return null;
        }
        List<Expr> indices = new ArrayList<>();
        for (int i = 0; i < indexTrees.size(); i++) {
            Expr index = expect(scope.unit(), indexTrees.get(i), expr(scope, indexTrees.get(i)), Type.INT, "an index of '" + input.name() + "'");
            if (index == null) return null;
            if (!indexFits(index, input.shape().get(i))) {
                diagnostics.report(scope.unit().source, indexTrees.get(i), "index " + indexTrees.get(i).getText() + " runs over "
                        + rangeOf(((Expr.IndexRef) index).index()) + " but dimension " + i + " of '" + input.name() + "' "
                        + shapeText(input) + " has size " + printSize(input.shape().get(i)) + "; expected an index within that size");
                return null;
            }
            indices.add(index);
        }
        return new Expr.Load(input.name(), input.dtype(), indices);
    }

    private Expr member(Scope scope, AttnParser.MemberContext m) {
        Expr value = expect(scope.unit(), m.expr(0), expr(scope, m.expr(0)), Type.INT);
        Expr row = load(scope, m.NAME().getSymbol(), m.expr().subList(1, m.expr().size()), 1);
        if (value == null || !(row instanceof Expr.Load load)) return null;
        if (load.dtype() != DType.INT32) {
            diagnostics.report(scope.unit().source, m.NAME().getSymbol(), "'in' needs an int32 input of indices; '" + load.input()
                    + "' holds " + load.dtype() + "; expected int32");
            return null;
        }
        return new Expr.Member(value, load.input(), load.dtype(), load.indices());
    }

    /** An index that is a bare index variable must run over the dimension it indexes. */
    private static boolean indexFits(Expr index, Expr dim) {
        if (!(index instanceof Expr.IndexRef(Index i)) || !(dim instanceof Expr.SizeRef(String size))) return true;
        if (!Sizes.STANDARD.contains(size)) return true;
        return switch (i) {
            case B -> size.equals("B");
            case H -> size.equals("H");
            case Q -> size.equals("Nq") || size.equals("Nkv");
            case KV -> size.equals("Nkv");
            case D -> size.equals("D") || size.equals("Dv");
        };
    }

    private static String rangeOf(Index index) {
        return switch (index) {
            case B -> "0..B-1";
            case H -> "0..H-1";
            case Q -> "the query positions";
            case KV -> "0..Nkv-1";
            case D -> "0..Dv-1";
        };
    }

    private static String shapeText(Input input) {
        return input.shape().stream().map(ExprChecker::printSize).collect(Collectors.joining(", ", "[", "]"));
    }

    private static String printSize(Expr e) {
        return attnc.ir.Printer.expr(e);
    }

    // ---- types -------------------------------------------------------------------------

    private boolean numeric(Scope scope, ParserRuleContext where, Expr e, String op) {
        if (e.type() != Type.BOOL) return true;
        diagnostics.report(scope.unit().source, where, "'" + op + "' needs a number; expected int or float, found bool");
        return false;
    }

    Expr expect(Unit unit, ParserRuleContext where, Expr e, Type wanted) {
        return expect(unit, where, e, wanted, "");
    }

    /** {@code what} names the place that wants the type ("an index of 'doc'"), so the message says why. */
    Expr expect(Unit unit, ParserRuleContext where, Expr e, Type wanted, String what) {
        if (e == null) return null;
        if (e.type() == wanted) return e;
        diagnostics.report(unit.source, where, "type mismatch" + (what.isEmpty() ? "" : " in " + what) + ": expected " + wanted + ", found " + e.type());
        return null;
    }

    /** Like {@link #expect} but an int is accepted (and converted) where a float is wanted. */
    Expr coerce(Unit unit, ParserRuleContext where, Expr e, Type wanted) {
        if (e != null && wanted == Type.FLOAT && e.type() == Type.INT) return toFloat(e);
        return expect(unit, where, e, wanted);
    }
}

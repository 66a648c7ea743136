package attnc.front;

import attnc.grammar.AttnParser;
import attnc.grammar.AttnParser.ExprContext;
import attnc.ir.Builtin;
import attnc.ir.DType;
import attnc.ir.Expr;
import attnc.ir.Input;
import attnc.ir.Norm;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Sizes;
import attnc.ir.Tile;
import attnc.ir.Type;
import attnc.pass.FoldConstants;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.antlr.v4.runtime.ParserRuleContext;
import org.antlr.v4.runtime.Token;

/**
 * Parse tree to checked IR, declarations and sections: names declared once across imports,
 * params with constant defaults, inputs with dtypes and shapes, each section once and of the
 * right type ({@link ExprChecker} checks the expressions). Reports every error it finds with its
 * position; returns empty for a file without sections.
 */
final class Checker {
    private final Unit main;
    private final Diagnostics diagnostics;
    private final String name;
    private final Set<String> sizes = new LinkedHashSet<>(Sizes.STANDARD);
    private final Map<AttnParser.ItemContext, Param> params = new LinkedHashMap<>();
    private final Map<AttnParser.ItemContext, Input> inputs = new LinkedHashMap<>();
    private final Set<AttnParser.ItemContext> used = new LinkedHashSet<>();
    private final ExprChecker exprs;

    /** {@code fixedParams}: values given at compile time, so folds through them are checked too. */
    Checker(Unit main, Diagnostics diagnostics, String name, Map<String, Expr> fixedParams) {
        this.main = main;
        this.diagnostics = diagnostics;
        this.name = name;
        this.exprs = new ExprChecker(diagnostics, sizes, params, inputs, used, fixedParams);
    }

    Optional<Pattern> check() {
        List<Unit> units = allUnits();
        for (Unit unit : units) declare(unit);
        for (Unit unit : units) collectSizes(unit);
        for (Unit unit : units) checkDeclarations(unit);
        if (main.tree.item().stream().noneMatch(i -> i.section() != null)) return Optional.empty();
        return Optional.ofNullable(checkSections());
    }

    private List<Unit> allUnits() {
        List<Unit> order = new ArrayList<>();
        visit(main, order);
        return order;
    }

    private void visit(Unit unit, List<Unit> order) {
        if (order.contains(unit)) return;
        order.add(unit);
        for (Unit imported : unit.imports) visit(imported, order);
    }

    // ---- declarations ------------------------------------------------------------------

    private void declare(Unit unit) {
        for (AttnParser.ItemContext item : unit.tree.item()) {
            Token nameToken = declaredName(item);
            if (nameToken == null) continue;
            String declared = nameToken.getText();
            if (ExprChecker.RESERVED.contains(declared) || Sizes.STANDARD.contains(declared) || Builtin.ofSpelling(declared).isPresent()) {
                diagnostics.report(unit.source, nameToken, "'" + declared + "' is a built-in name and cannot be declared; expected another name");
                continue;
            }
            AttnParser.ItemContext earlier = unit.declarations.putIfAbsent(declared, item);
            if (earlier != null) {
                diagnostics.report(unit.source, nameToken, "'" + declared + "' is already declared at line "
                        + earlier.getStart().getLine() + "; expected a new name");
            }
        }
    }

    private static Token declaredName(AttnParser.ItemContext item) {
        if (item.paramDecl() != null) return item.paramDecl().NAME().getSymbol();
        if (item.inputDecl() != null) return item.inputDecl().NAME(0).getSymbol();
        if (item.letDecl() != null) return item.letDecl().NAME().getSymbol();
        if (item.fnDecl() != null) return item.fnDecl().NAME().getSymbol();
        return null;
    }

    /** Names in input shapes that are not standard sizes become symbolic sizes, bound at launch. */
    private void collectSizes(Unit unit) {
        for (AttnParser.ItemContext item : unit.tree.item()) {
            if (item.inputDecl() == null) continue;
            for (ExprContext dim : item.inputDecl().expr()) collectSizeNames(unit, dim);
        }
    }

    private void collectSizeNames(Unit unit, ParserRuleContext tree) {
        if (tree instanceof AttnParser.NameContext n) {
            String text = n.NAME().getText();
            if (unit.find(text) == null && !ExprChecker.RESERVED.contains(text) && Character.isUpperCase(text.charAt(0))) sizes.add(text);
        }
        for (int i = 0; i < tree.getChildCount(); i++) {
            if (tree.getChild(i) instanceof ParserRuleContext child) collectSizeNames(unit, child);
        }
    }

    private void checkDeclarations(Unit unit) {
        for (AttnParser.ItemContext item : unit.tree.item()) {
            if (item.paramDecl() != null) checkParam(unit, item);
            if (item.inputDecl() != null) checkInput(unit, item);
            if (item.fnDecl() != null) checkFnSignature(unit, item.fnDecl());
        }
    }

    private void checkParam(Unit unit, AttnParser.ItemContext item) {
        AttnParser.ParamDeclContext decl = item.paramDecl();
        Type type = Type.ofSpelling(decl.scalarType().getText());
        Optional<Expr> defaultValue = Optional.empty();
        if (decl.expr() != null) {
            Expr value = exprs.coerce(unit, decl.expr(), exprs.expr(new Scope(unit, Place.CONSTANT, Map.of()), decl.expr()), type);
            if (value != null) {
                Expr folded = FoldConstants.fold(value, Map.of());
                if (folded instanceof Expr.IntLit || folded instanceof Expr.FloatLit || folded instanceof Expr.BoolLit) {
                    defaultValue = Optional.of(folded);
                } else {
                    diagnostics.report(unit.source, decl.expr(), "the default of param '" + decl.NAME().getText()
                            + "' is not a constant; expected literals and arithmetic on them");
                }
            }
        }
        params.put(item, new Param(decl.NAME().getText(), type, defaultValue, doc(item)));
    }

    private void checkInput(Unit unit, AttnParser.ItemContext item) {
        AttnParser.InputDeclContext decl = item.inputDecl();
        String dtypeName = decl.dtype.getText();
        Optional<DType> dtype = DType.ofSpelling(dtypeName);
        if (dtype.isEmpty()) {
            diagnostics.report(unit.source, decl.dtype, "unknown dtype '" + dtypeName + "'; expected one of "
                    + java.util.Arrays.stream(DType.values()).map(DType::spelling).collect(Collectors.joining(", "))
                    + Suggestions.closest(dtypeName, java.util.Arrays.stream(DType.values()).map(DType::spelling).toList()));
            return;
        }
        List<Expr> shape = new ArrayList<>();
        for (ExprContext dim : decl.expr()) {
            Expr checked = exprs.expect(unit, dim, exprs.expr(new Scope(unit, Place.SHAPE, Map.of()), dim), Type.INT);
            if (checked == null) return;
            shape.add(checked);
        }
        inputs.put(item, new Input(decl.NAME(0).getText(), dtype.get(), shape, doc(item)));
    }

    private void checkFnSignature(Unit unit, AttnParser.FnDeclContext fn) {
        Set<String> seen = new LinkedHashSet<>();
        for (AttnParser.FnParamContext p : fn.fnParam()) {
            String paramName = p.NAME().getText();
            if (!seen.add(paramName)) {
                diagnostics.report(unit.source, p.NAME().getSymbol(), "parameter '" + paramName + "' appears twice; expected distinct names");
            }
        }
    }

    private static String doc(AttnParser.ItemContext item) {
        return item.DOC().stream().map(t -> stripDoc(t.getText(), "///")).collect(Collectors.joining("\n"));
    }

    private static String stripDoc(String text, String marker) {
        String rest = text.substring(marker.length());
        return (rest.startsWith(" ") ? rest.substring(1) : rest).stripTrailing();
    }

    // ---- sections ----------------------------------------------------------------------

    private Pattern checkSections() {
        Map<Class<?>, AttnParser.SectionContext> seen = new HashMap<>();
        Expr mask = null;
        Optional<Expr> select = Optional.empty();
        Expr score = new Expr.ScoreRef();
        Expr scale = Pattern.DEFAULT_SCALE;
        Norm norm = Pattern.DEFAULT_NORM;
        Expr output = new Expr.OutputRef();
        Optional<Tile> tile = Optional.empty();
        boolean ok = true;
        for (AttnParser.ItemContext item : main.tree.item()) {
            AttnParser.SectionContext section = item.section();
            if (section == null) continue;
            AttnParser.SectionContext first = seen.putIfAbsent(section.getClass(), section);
            if (first != null) {
                diagnostics.report(main.source, section.getStart(), "section '" + section.getStart().getText()
                        + "' appears twice (first at line " + first.getStart().getLine() + "); expected each section once");
                ok = false;
                continue;
            }
            switch (section) {
                case AttnParser.MaskSectionContext m -> mask = exprs.expect(main, m.expr(), exprs.expr(scope(Place.MASK), m.expr()), Type.BOOL, "the mask section");
                case AttnParser.SelectSectionContext s -> {
                    Expr e = exprs.expect(main, s.expr(), exprs.expr(scope(Place.MASK), s.expr()), Type.BOOL, "the select section");
                    ok &= e != null;
                    select = Optional.ofNullable(e);
                }
                case AttnParser.ScoreSectionContext s -> {
                    score = exprs.coerce(main, s.expr(), exprs.expr(scope(Place.SCORE), s.expr()), Type.FLOAT);
                    ok &= score != null;
                }
                case AttnParser.ScaleSectionContext s -> {
                    scale = exprs.coerce(main, s.expr(), exprs.expr(scope(Place.SCALE), s.expr()), Type.FLOAT);
                    ok &= scale != null;
                }
                case AttnParser.NormSectionContext n -> {
                    norm = norm(n);
                    ok &= norm != null;
                }
                case AttnParser.OutputSectionContext o -> {
                    output = exprs.coerce(main, o.expr(), exprs.expr(scope(Place.OUTPUT), o.expr()), Type.FLOAT);
                    ok &= output != null;
                }
                case AttnParser.TileSectionContext t -> {
                    tile = tile(t);
                    ok &= tile.isPresent();
                }
                default -> throw new IllegalStateException("unhandled section " + section.getClass());
            }
        }
        if (!seen.containsKey(AttnParser.MaskSectionContext.class)) {
            AttnParser.SectionContext firstSection = main.tree.item().stream()
                    .filter(i -> i.section() != null).findFirst().orElseThrow().section();
            diagnostics.report(main.source, firstSection.getStart(), "missing section 'mask': a pattern needs one; "
                    + "expected `mask: ...` (write `mask: true` for dense attention)");
            return null;
        }
        if (!ok || mask == null || diagnostics.any()) return null;
        String fileDoc = main.tree.fileDoc == null ? "" : main.tree.FILE_DOC().stream()
                .map(t -> stripDoc(t.getText(), "//!")).collect(Collectors.joining("\n"));
        List<Param> usedParams = new ArrayList<>();
        params.forEach((item, p) -> { if (isMain(item) || used.contains(item)) usedParams.add(p); });
        List<Input> usedInputs = new ArrayList<>();
        inputs.forEach((item, i) -> { if (isMain(item) || used.contains(item)) usedInputs.add(i); });
        return new Pattern(name, fileDoc, usedParams, usedInputs, mask, select, score, scale, norm, output, tile);
    }

    private boolean isMain(AttnParser.ItemContext item) {
        return main.tree.item().contains(item);
    }

    private Scope scope(Place place) {
        return new Scope(main, place, Map.of());
    }

    private Norm norm(AttnParser.NormSectionContext n) {
        String kind = n.NAME(0).getText();
        String option = n.NAME().size() > 1 ? n.NAME(1).getText() : null;
        Expr value = n.expr() == null ? null : exprs.coerce(main, n.expr(), exprs.expr(scope(Place.NORM), n.expr()), Type.FLOAT);
        if (n.expr() != null && value == null) return null;
        switch (kind) {
            case "softmax" -> {
                if (option != null && !option.equals("sink")) return badOption(n, kind, option, "sink");
                return new Norm.Softmax(Optional.ofNullable(value));
            }
            case "sigmoid" -> {
                if (option != null && !option.equals("bias")) return badOption(n, kind, option, "bias");
                return new Norm.Sigmoid(value == null ? new Expr.FloatLit(0.0) : value);
            }
            case "none" -> {
                if (option != null) return badOption(n, kind, option, "no option");
                return new Norm.Identity();
            }
            default -> {
                diagnostics.report(main.source, n.NAME(0).getSymbol(), "unknown normalisation '" + kind
                        + "'; expected softmax, sigmoid or none" + Suggestions.closest(kind, List.of("softmax", "sigmoid", "none")));
                return null;
            }
        }
    }

    private Norm badOption(AttnParser.NormSectionContext n, String kind, String option, String expected) {
        diagnostics.report(main.source, n.NAME(1).getSymbol(), "'" + kind + "' takes no option '" + option + "'; expected " + expected);
        return null;
    }

    private Optional<Tile> tile(AttnParser.TileSectionContext t) {
        int q = 64;
        int kv = 64;
        for (int i = 0; i < t.NAME().size(); i++) {
            Token key = t.NAME(i).getSymbol();
            Token value = t.INT(i).getSymbol();
            int size;
            try {
                size = Integer.parseInt(value.getText());
            } catch (NumberFormatException e) {
                size = -1;
            }
            if (size < 1 || size > 4096) {
                diagnostics.report(main.source, value, "tile size " + value.getText() + " is out of range; expected 1 to 4096");
                return Optional.empty();
            }
            switch (key.getText()) {
                case "q" -> q = size;
                case "kv" -> kv = size;
                default -> {
                    diagnostics.report(main.source, key, "unknown tile dimension '" + key.getText() + "'; expected q or kv");
                    return Optional.empty();
                }
            }
        }
        return Optional.of(new Tile(q, kv));
    }
}

package attnc.gen;

import attnc.ir.BinaryOp;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;

/**
 * Random patterns as the checker would build them from a file named {@code gen.attn}: params
 * with and without defaults, inputs of every dtype with shapes over standard and symbolic sizes,
 * every section, docs. Symbolic sizes appear bare in shapes, so a launch can bind them.
 */
public final class PatternGenerator {
    public static final String NAME = "gen";

    /** Sizes a shape may use: the tensor sizes, always at least 1 (the query offset, which may be 0, is left out). */
    private static final List<String> DIMENSION_SIZES = List.of("B", "H", "Hkv", "Nq", "Nkv", "D", "Dv");
    private static final String[] WORDS = {"causal", "window", "keys", "the", "ALiBi", "slope", "per", "head", "x = 1", "(see DESIGN.md)"};

    private final Random random;
    private final int depth;
    private final Style style;

    private PatternGenerator(Random random, int depth, Style style) {
        this.random = random;
        this.depth = depth;
        this.style = style;
    }

    /** A pattern whose expressions are at most {@code depth} operations deep. */
    public static Pattern generate(Random random, int depth) {
        return generate(random, depth, Style.ANY);
    }

    public static Pattern generate(Random random, int depth, Style style) {
        return new PatternGenerator(random, depth, style).pattern();
    }

    private Pattern pattern() {
        List<Param> params = new ArrayList<>();
        int paramCount = random.nextInt(4);
        for (int i = 0; i < paramCount; i++) params.add(param("p" + i));
        List<String> sizes = new ArrayList<>(Sizes.STANDARD);
        List<Input> inputs = new ArrayList<>();
        int inputCount = random.nextInt(4);
        for (int i = 0; i < inputCount; i++) inputs.add(input("t" + i, sizes));
        Declarations declarations = new Declarations(params, inputs, sizes);

        Expr mask = expr(declarations, Place.MASK, Type.BOOL);
        Optional<Expr> select = random.nextInt(4) == 0 ? Optional.of(expr(declarations, Place.MASK, Type.BOOL)) : Optional.empty();
        Expr score = random.nextBoolean() ? new Expr.ScoreRef() : expr(declarations, Place.SCORE, Type.FLOAT);
        Expr scale = random.nextInt(3) != 0 ? Pattern.DEFAULT_SCALE : tameScale(expr(declarations, Place.SCALE, Type.FLOAT));
        Norm norm = switch (random.nextInt(5)) {
            case 0 -> new Norm.Softmax(Optional.of(expr(declarations, Place.NORM, Type.FLOAT)));
            case 1 -> new Norm.Sigmoid(expr(declarations, Place.NORM, Type.FLOAT));
            case 2 -> new Norm.Identity();
            default -> Pattern.DEFAULT_NORM;
        };
        Expr output = random.nextBoolean() ? new Expr.OutputRef() : expr(declarations, Place.OUTPUT, Type.FLOAT);
        Optional<Tile> tile = random.nextInt(3) == 0 ? Optional.of(new Tile(tileSize(), tileSize())) : Optional.empty();
        return new Pattern(NAME, doc(), params, inputs, mask, select, score, scale, norm, output, tile);
    }

    /**
     * A tame scale stays within ±1: a position in the hundreds as the scale (`scale: float(q)`)
     * makes logits of thousands, whose fp32 rounding alone moves softmax weights by more than the
     * kernels' 2e-5 agreement (1 decode case in about 6000 did).
     */
    private Expr tameScale(Expr scale) {
        return style == Style.TAME ? new Expr.Call(Builtin.TANH, List.of(scale)) : scale;
    }

    private Expr expr(Declarations declarations, Place place, Type type) {
        return new ExprGenerator(random, declarations, place, style).of(type, depth);
    }

    private Param param(String name) {
        Type type = Type.values()[random.nextInt(3)];
        Optional<Expr> defaultValue = random.nextInt(4) == 0 ? Optional.empty() : Optional.of(switch (type) {
            case INT -> new Expr.IntLit(style == Style.TAME ? random.nextInt(20) - 4 : random.nextInt(4096) - 64);
            // Tame defaults are fp32 numbers, as the kernels take them (ExprGenerator.stepOperand).
            case FLOAT -> new Expr.FloatLit(random.nextInt(3) == 0 ? -0.0 : style == Style.TAME ? (float) (random.nextGaussian() * 2) : random.nextGaussian() * 8);
            case BOOL -> new Expr.BoolLit(random.nextBoolean());
        });
        return new Param(name, type, defaultValue, doc());
    }

    private Input input(String name, List<String> sizes) {
        DType dtype = DType.values()[random.nextInt(DType.values().length)];
        int rank = 1 + random.nextInt(3);
        List<Expr> shape = new ArrayList<>();
        for (int i = 0; i < rank; i++) shape.add(dimension(sizes));
        return new Input(name, dtype, shape, doc());
    }

    /** A tensor size, a new or known symbolic size (always bare), a literal, or {@code Size / k + 1}. */
    private Expr dimension(List<String> sizes) {
        return switch (random.nextInt(6)) {
            case 0, 1 -> new Expr.SizeRef(DIMENSION_SIZES.get(random.nextInt(DIMENSION_SIZES.size())));
            case 2 -> {
                String symbolic = random.nextBoolean() || sizes.size() == Sizes.STANDARD.size() ? "S" + (sizes.size() - Sizes.STANDARD.size())
                        : sizes.get(Sizes.STANDARD.size() + random.nextInt(sizes.size() - Sizes.STANDARD.size()));
                if (!sizes.contains(symbolic)) sizes.add(symbolic);
                yield new Expr.SizeRef(symbolic);
            }
            case 3 -> new Expr.IntLit(1 + random.nextInt(6));
            default -> new Expr.Binary(BinaryOp.ADD, new Expr.Binary(BinaryOp.DIV,
                    new Expr.SizeRef(DIMENSION_SIZES.get(random.nextInt(DIMENSION_SIZES.size()))), new Expr.IntLit(1 + random.nextInt(4))),
                    new Expr.IntLit(1));
        };
    }

    private int tileSize() {
        return random.nextBoolean() ? 1 << random.nextInt(13) : 1 + random.nextInt(4096);
    }

    /** Empty mostly; otherwise a line or two of words (docs keep no trailing blanks, as the parser strips them). */
    private String doc() {
        if (random.nextInt(3) != 0) return "";
        List<String> lines = new ArrayList<>();
        int count = 1 + random.nextInt(2);
        for (int l = 0; l < count; l++) {
            StringBuilder line = new StringBuilder();
            int words = 1 + random.nextInt(4);
            for (int w = 0; w < words; w++) line.append(w > 0 ? " " : "").append(WORDS[random.nextInt(WORDS.length)]);
            lines.add(line.toString());
        }
        return String.join("\n", lines);
    }
}

package attnc.jvm.emit;

import attnc.ir.Expr;
import attnc.ir.ExprTree;
import attnc.ir.Input;
import attnc.ir.Param;
import attnc.ir.Pattern;
import attnc.ir.Sizes;
import attnc.ir.Type;
import attnc.jvm.kernel.Env;
import attnc.launch.Binding;
import attnc.tensor.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each input tensor, size and param of a pattern lives in an {@link Env}: fixed when the
 * kernel class is generated (the bytecode reads {@code env.sizes[3]}), filled at every launch by
 * {@link #env}. Int and bool inputs and params share the int arrays (bool as 0/1).
 */
public final class Slots {
    private final Map<String, Integer> inputs = new LinkedHashMap<>();
    private final Map<String, Integer> sizes = new LinkedHashMap<>();
    private final Map<String, Integer> params = new LinkedHashMap<>();
    private final List<Input> intInputs = new ArrayList<>(), floatInputs = new ArrayList<>();
    private final List<Param> intParams = new ArrayList<>(), floatParams = new ArrayList<>();

    public Slots(Pattern pattern) {
        for (String s : Sizes.STANDARD) sizes.put(s, sizes.size());
        for (Input input : pattern.inputs()) {
            List<Input> group = input.dtype().loadsAs() == Type.FLOAT ? floatInputs : intInputs;
            inputs.put(input.name(), group.size());
            group.add(input);
            for (Expr dim : input.shape()) {
                ExprTree.any(dim, e -> {
                    if (e instanceof Expr.SizeRef(String name)) sizes.putIfAbsent(name, sizes.size());
                    return false;
                });
            }
        }
        for (Param p : pattern.params()) {
            List<Param> group = p.type() == Type.FLOAT ? floatParams : intParams;
            params.put(p.name(), group.size());
            group.add(p);
        }
    }

    public int input(String name) { return inputs.get(name); }
    public int size(String name) { return sizes.get(name); }
    public int param(String name) { return params.get(name); }

    /** The launch's values at their slots. */
    public Env env(Binding binding, Map<String, Tensor> tensors) {
        int[][] ints = new int[intInputs.size()][];
        for (int i = 0; i < ints.length; i++) ints[i] = tensors.get(intInputs.get(i).name()).ints();
        float[][] floats = new float[floatInputs.size()][];
        for (int i = 0; i < floats.length; i++) floats[i] = tensors.get(floatInputs.get(i).name()).floats();
        int[] sizeValues = new int[sizes.size()];
        sizes.forEach((name, slot) -> sizeValues[slot] = binding.sizes().getOrDefault(name, 0));
        int[] intValues = new int[intParams.size()];
        for (int i = 0; i < intValues.length; i++) {
            intValues[i] = switch (binding.params().get(intParams.get(i).name())) {
                case Expr.IntLit(int v) -> v;
                case Expr.BoolLit(boolean v) -> v ? 1 : 0;
                case Expr other -> throw new IllegalStateException("param value " + other);
            };
        }
        float[] floatValues = new float[floatParams.size()];
        for (int i = 0; i < floatValues.length; i++) {
            floatValues[i] = switch (binding.params().get(floatParams.get(i).name())) {
                case Expr.FloatLit(double v) -> (float) v;
                case Expr.IntLit(int v) -> v;
                case Expr other -> throw new IllegalStateException("param value " + other);
            };
        }
        return new Env(ints, floats, sizeValues, intValues, floatValues);
    }
}

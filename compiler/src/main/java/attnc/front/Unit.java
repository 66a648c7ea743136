package attnc.front;

import attnc.grammar.AttnParser;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** One parsed .attn file: its declarations by name, and the files it imports. */
final class Unit {
    final Source source;
    final Path directory;
    final AttnParser.FileContext tree;
    final Map<String, AttnParser.ItemContext> declarations = new LinkedHashMap<>();
    final List<Unit> imports = new ArrayList<>();

    Unit(Source source, Path directory, AttnParser.FileContext tree) {
        this.source = source;
        this.directory = directory;
        this.tree = tree;
    }

    /** The file's own declaration of a name, else the first import (searched depth first) that declares it. */
    Found find(String name) {
        return find(name, new ArrayList<>());
    }

    private Found find(String name, List<Unit> visited) {
        if (visited.contains(this)) return null;
        visited.add(this);
        AttnParser.ItemContext item = declarations.get(name);
        if (item != null) return new Found(this, item);
        for (Unit imported : imports) {
            Found found = imported.find(name, visited);
            if (found != null) return found;
        }
        return null;
    }

    /** Every name this file can see, for "did you mean" suggestions. */
    List<String> visibleNames() {
        List<String> names = new ArrayList<>();
        collect(names, new ArrayList<>());
        return names;
    }

    private void collect(List<String> names, List<Unit> visited) {
        if (visited.contains(this)) return;
        visited.add(this);
        names.addAll(declarations.keySet());
        for (Unit imported : imports) imported.collect(names, visited);
    }

    record Found(Unit unit, AttnParser.ItemContext item) {}
}

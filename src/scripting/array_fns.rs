//! `map` and `filter` on arrays: Rhai's own, without a failed call per
//! element.
//!
//! Rhai 1.27's `array.map(f)` and `array.filter(f)` call `f` for each
//! element first with the element bound to `this` and no argument, then
//! with the element as the argument, then with the element and its index,
//! and keep the first call that finds a function. For the usual `|x| ...`
//! closure the first call fails, building a "function not found" error with
//! its signature text, on every element: a third of the time of
//! `items.map(|it| #{ ... })` over 20 maps (the bench app's JSON
//! endpoint; `|| this.x` closures never paid it). A closure is an anonymous
//! script function, found by name and number of arguments only, so the form
//! that works for the first element works for all: the first element goes
//! through Rhai's sequence and the others use the form it settled on. Named
//! function pointers may resolve differently by argument type (native
//! overloads), so they keep Rhai's sequence for every element. Results,
//! `this` mutation and errors are Rhai's; remove this module once Rhai
//! resolves the arity first.

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, NativeCallContext, Position, INT};

use super::pure;

/// How a function pointer is called for one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// `f()` with the element as `this` (it may change the element).
    This,
    /// `f(element)`.
    Item,
    /// `f(element, index)`.
    ItemIndex,
}

/// Calls a function pointer for each element, as Rhai's array functions
/// do, settling the form once for closures.
struct Caller<'a> {
    ctx: &'a NativeCallContext<'a>,
    f: &'a FnPtr,
    /// The array function's name, for errors.
    name: &'static str,
    settled: Option<Form>,
}

impl Caller<'_> {
    fn call_form(
        &self,
        form: Form,
        item: &mut Dynamic,
        index: usize,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        match form {
            Form::This => self.f.call_raw(self.ctx, Some(item), []),
            Form::Item => self.f.call_raw(self.ctx, None, [item.clone()]),
            Form::ItemIndex => {
                let index = INT::try_from(index).unwrap_or(INT::MAX);
                self.f
                    .call_raw(self.ctx, None, [item.clone(), index.into()])
            }
        }
    }

    /// Whether `err` says no function of this pointer's name fits the
    /// arguments (Rhai's test for trying the next form).
    fn not_found(&self, err: &EvalAltResult) -> bool {
        matches!(err, EvalAltResult::ErrorFunctionNotFound(sig, _) if sig.starts_with(self.f.fn_name()))
    }

    fn call(&mut self, item: &mut Dynamic, index: usize) -> Result<Dynamic, Box<EvalAltResult>> {
        let result = match self.settled {
            Some(form) => self.call_form(form, item, index),
            None => self.call_in_turn(item, index),
        };
        result.map_err(|err| {
            EvalAltResult::ErrorInFunctionCall(
                self.name.to_owned(),
                self.ctx.call_source().unwrap_or("").to_owned(),
                err,
                Position::NONE,
            )
            .into()
        })
    }

    /// Rhai's sequence: the first form that finds a function.
    fn call_in_turn(
        &mut self,
        item: &mut Dynamic,
        index: usize,
    ) -> Result<Dynamic, Box<EvalAltResult>> {
        let mut form = Form::This;
        loop {
            match self.call_form(form, item, index) {
                Ok(v) => {
                    if self.f.is_anonymous() {
                        self.settled = Some(form);
                    }
                    return Ok(v);
                }
                Err(err) if self.not_found(&err) && form != Form::ItemIndex => {
                    form = if form == Form::This {
                        Form::Item
                    } else {
                        Form::ItemIndex
                    };
                }
                Err(err) => return Err(err),
            }
        }
    }
}

/// Calls `f` for each element as Rhai's array function `name` does,
/// handing `take` each element with its result.
fn each(
    ctx: &NativeCallContext<'_>,
    array: &mut Array,
    f: &FnPtr,
    name: &'static str,
    mut take: impl FnMut(&Dynamic, Dynamic),
) -> Result<(), Box<EvalAltResult>> {
    let mut caller = Caller {
        ctx,
        f,
        name,
        settled: None,
    };
    for (i, item) in array.iter_mut().enumerate() {
        let result = caller.call(item, i)?;
        take(item, result);
    }
    Ok(())
}

fn map(
    ctx: NativeCallContext<'_>,
    array: &mut Array,
    f: FnPtr,
) -> Result<Array, Box<EvalAltResult>> {
    let mut out = Array::with_capacity(array.len());
    each(&ctx, array, &f, "map", |_, result| out.push(result))?;
    Ok(out)
}

fn filter(
    ctx: NativeCallContext<'_>,
    array: &mut Array,
    f: FnPtr,
) -> Result<Array, Box<EvalAltResult>> {
    let mut out = Array::new();
    each(&ctx, array, &f, "filter", |item, keep| {
        if keep.as_bool().unwrap_or(false) {
            out.push(item.clone());
        }
    })?;
    Ok(out)
}

/// Registers `map` and `filter` over Rhai's (functions registered on the
/// engine are found before its packages').
pub(crate) fn register(engine: &mut Engine) {
    pure!(engine, "map", map);
    pure!(engine, "filter", filter);
}

#[cfg(test)]
mod tests {
    /// Each case as an expression; `double` and `add` are script functions.
    const CASES: &[&str] = &[
        "[1, 2, 3].map(|x| x * 2)",
        "[1, 2, 3].map(|x, i| x * 10 + i)",
        "[1, 2, 3].map(|| this * 3)",
        "[].map(|x| x)",
        "{ let k = 5; [1, 2].map(|x| x + k) }",
        "[1, 2].map(double)",
        "[1, 2].map(Fn(\"double\"))",
        "[1, 2].map(Fn(\"add\").curry(100))",
        "[-1, 2].map(Fn(\"abs\"))",
        "[1, \"a\", 2.5].map(|x| type_of(x))",
        // `this` changes the element itself, as in Rhai.
        "{ let a = [#{ v: 1 }, #{ v: 2 }]; let b = a.map(|| { this.v += 10; this.v }); [a, b] }",
        "[#{ id: 1, n: \"a\" }, #{ id: 2, n: \"b\" }].map(|it| #{ id: it.id, name: it.n })",
        "[1, 2, 3, 4].filter(|x| x % 2 == 0)",
        "[1, 2, 3, 4].filter(|x, i| i > 1)",
        "[1, 2, 3, 4].filter(|| this > 2)",
        "[1, 2, 3].filter(|x| ())",
        // Errors: inside the closure, and a closure no form fits.
        "[1].map(|x| x.no_such_method())",
        "[1].map(|a, b, c| a)",
        "[1, 2].filter(|x| if x == 2 { throw \"boom\" } else { true })",
    ];

    const FNS: &str = "fn double(x) { x * 2 }\nfn add(a, b) { a + b }\n";

    fn case_fn(i: usize, expr: &str) -> String {
        format!("fn case_{i}() {{ let out = (); try {{ out = ({expr}).to_debug(); }} catch (e) {{ out = `error: ${{e}}`; }} out }}\n")
    }

    /// The script with every case, one line each and a line for its route
    /// (`route` itself only in the app), so positions in errors agree.
    fn script(route: bool) -> String {
        let mut script = FNS.to_owned();
        for (i, expr) in CASES.iter().enumerate() {
            script.push_str(&case_fn(i, expr));
            if route {
                script.push_str(&format!("route(\"/{i}\", case_{i});\n"));
            } else {
                script.push_str("// no route here\n");
            }
        }
        script
    }

    /// What Rhai's own `map` and `filter` give, on a plain engine.
    fn rhai_says(i: usize) -> String {
        let mut engine = rhai::Engine::new();
        // The app engine's structural limits (a debug build's defaults are lower).
        engine.set_max_expr_depths(64, 64);
        engine.set_max_call_levels(48);
        let script = format!("{}case_{i}()", script(false));
        let mut ast = engine.compile(&script).expect("the case compiles");
        ast.set_source("app.rhai");
        engine.eval_ast::<String>(&ast).expect("the case runs")
    }

    #[test]
    fn map_and_filter_give_what_rhai_gives() {
        let app = crate::App::from_source("app.rhai", &script(true)).expect("the app loads");
        let client = app.test_client();
        for (i, expr) in CASES.iter().enumerate() {
            let resp = client.get(&format!("/{i}"));
            assert_eq!(resp.status, 200, "{expr}");
            assert_eq!(resp.text(), rhai_says(i), "{expr}");
        }
    }
}

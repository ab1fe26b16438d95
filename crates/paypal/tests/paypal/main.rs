mod examples;
mod flows;
